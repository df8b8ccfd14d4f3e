/**
 * `osmo run` as a user runs it: the real binary, real C programs compiled to wasm32-wasi.
 * Exit statuses, arguments, environment, stdio streaming, traps, signals, bad input.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixture, makeScratch, osmo, osmoBin, removeScratch, repoRoot } from '../helpers/osmo.js';

let dir = '';
before(() => (dir = makeScratch()));
after(() => removeScratch(dir));

/** stderr of a failed invocation must be exactly one line, without a stack trace. */
function assertOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(stderr, /\n\s+at /);
}

describe('exit status and arguments', () => {
  it('runs the bundled example', async () => {
    const r = await osmo(['run', join(repoRoot, 'examples', 'hello.wasm'), 'world']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.toString(), /world/);
  });

  it('passes the exit code through', async () => {
    for (const code of [0, 1, 7, 42, 255]) {
      const r = await osmo(['run', fixture('exit_code'), String(code)]);
      assert.equal(r.status, code, r.stderr);
    }
  });

  it('passes argv and the environment, with --env and --no-inherit-env', async () => {
    const env = { ...process.env, OSMO_INHERITED: 'from-parent' };
    const r = await osmo(
      ['run', '--env', 'OSMO_T=yes', fixture('args_env'), dir, 'OSMO_T', 'a b', '--flag'],
      { env },
    );
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout.toString();
    assert.match(out, /^argc 5$/m);
    assert.match(out, /^argv\[3\]=a b$/m);
    assert.match(out, /^argv\[4\]=--flag$/m);
    assert.match(out, /^env OSMO_T=yes$/m);
    const inherited = await osmo(['run', fixture('args_env'), dir, 'OSMO_INHERITED'], { env });
    assert.match(inherited.stdout.toString(), /^env OSMO_INHERITED=from-parent$/m);
    const bare = await osmo(
      ['run', '--no-inherit-env', '--env', 'ONLY=1', fixture('args_env'), dir, 'OSMO_INHERITED'],
      {
        env,
      },
    );
    assert.equal(bare.status, 0, bare.stderr);
    assert.match(bare.stdout.toString(), /^env OSMO_INHERITED unset$/m);
  });

  it('mosrun is osmo run', () => {
    const r = execFileSync(process.execPath, [
      join(repoRoot, 'bin', 'mosrun.js'),
      fixture('exit_code'),
      '0',
    ]);
    assert.equal(r.length >= 0, true);
  });
});

describe('stdio', () => {
  it('streams binary stdin to stdout unchanged', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 17);
    const r = await osmo(['run', fixture('cat')], { input: data });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.equals(data), 'output differs from input');
  });

  it('streams 512 MiB through a filter without holding it in memory', async () => {
    const total = 512 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    let peakKb = 0;
    let seen = 0;
    let sent = 0;
    const r = await osmo(['run', fixture('upper')], {
      deadlineMs: 120_000,
      onSpawn: (child) => {
        // Feed with backpressure: the next MiB only when the pipe takes it.
        const feed = (): void => {
          while (sent < total) {
            sent += chunk.length;
            if (!child.stdin!.write(chunk)) return void child.stdin!.once('drain', feed);
          }
          child.stdin!.end();
        };
        feed();
      },
      collectStdout: false,
      onStdout: (data, child) => {
        seen += data.length;
        // VmHWM is the process's peak resident set so far.
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        peakKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? peakKb);
      },
    });
    // Which side stalled, if the deadline ever ends it (seen once in CI on Node 24, no stderr).
    assert.equal(r.status, 0, `${r.stderr}(stdin taken ${sent} of ${total} bytes, stdout ${seen})`);
    assert.equal(seen, total);
    assert.ok(
      peakKb > 0 && peakKb < 256 * 1024,
      `osmo's peak RSS was ${peakKb} KiB for 512 MiB streamed`,
    );
  });

  it('filters in order', async () => {
    const r = await osmo(['run', fixture('upper')], { input: 'hello\nosmosis\n' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'HELLO\nOSMOSIS\n');
  });

  it('yes | head -c 10 ends at once, the program seeing EPIPE', () => {
    const out = execFileSync(
      'bash',
      [
        '-c',
        `"${process.execPath}" "${osmoBin}" run "${fixture('yes')}" | head -c 10; echo " status=\${PIPESTATUS[0]}"`,
      ],
      { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    assert.equal(out.trimEnd(), 'y\ny\ny\ny\ny\n status=3');
  });

  it('runs under node --cpu-prof (SIGPROF is then the profiler clock, not forwarded)', () => {
    const profiles = join(dir, 'profiles');
    const out = execFileSync(
      process.execPath,
      ['--cpu-prof', '--cpu-prof-dir', profiles, osmoBin, 'run', fixture('steps'), '3', '20000000'],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, OSMOSIS_DAEMON: 'none' } },
    );
    assert.match(out, /^step 1 /);
    assert.ok(readdirSync(profiles).some((f) => f.endsWith('.cpuprofile')));
  });

  it('reports a character device for stdio on a terminal', () => {
    // script(1) gives the program a pseudo-terminal for stdin, stdout and stderr.
    const out = execFileSync(
      'script',
      ['-qec', `"${process.execPath}" "${osmoBin}" run "${fixture('stdio_type')}"`, '/dev/null'],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    assert.match(out, /0:character_device 1:character_device 2:character_device/);
  });

  it('reports files and pipes for redirected stdio', () => {
    const file = join(dir, 'in.txt');
    writeFileSync(file, 'x');
    const out = execFileSync(
      'bash',
      [
        '-c',
        `"${process.execPath}" "${osmoBin}" run "${fixture('stdio_type')}" < "${file}" 2>&1 | cat`,
      ],
      {
        encoding: 'utf8',
      },
    );
    assert.match(out, /0:regular_file 1:(unknown|character_device|socket_stream) 2:/);
  });
});

describe('traps and signals', () => {
  it('names the trap and the function, exit 134', async () => {
    const r = await osmo(['run', fixture('trap'), 'unreachable']);
    assert.equal(r.status, 134);
    assertOneLine(r.stderr, /trap: unreachable.* in function crash_here/);
    const d = await osmo(['run', fixture('trap'), 'divzero']);
    assert.equal(d.status, 134);
    assertOneLine(d.stderr, /trap: divide by zero/);
    const m = await osmo(['run', fixture('trap'), 'oob']);
    assert.equal(m.status, 134);
    assertOneLine(m.stderr, /trap: memory access out of bounds/);
  });

  for (const [signal, status] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
    ['SIGQUIT', 131],
    ['SIGUSR1', 138],
    ['SIGUSR2', 140],
  ] as const) {
    it(`${signal} ends the program with ${status}`, async () => {
      let sent = false;
      const r = await osmo(['run', fixture('spin')], {
        onStdout: (_chunk, child) => {
          if (!sent) {
            sent = true;
            child.kill(signal);
          }
        },
      });
      assert.ok(sent, 'spin never reported that it started');
      assert.equal(r.status, status, r.stderr);
      // Node's default for SIGUSR1 would have opened a debugger port instead.
      assert.doesNotMatch(r.stderr, /Debugger listening/);
    });
  }

  it('a signal ends a program blocked reading stdin', async () => {
    let sent = false;
    const r = await osmo(['run', fixture('stdin_wait')], {
      onSpawn: (child) => {
        child.stderr?.once('data', () => undefined);
      },
      onStdout: (_c, child) => {
        if (!sent) {
          sent = true;
          child.kill('SIGTERM');
        }
      },
    });
    assert.equal(r.status, 143, r.stderr);
  });

  it('proc_raise ends the program as that signal would', async () => {
    const r = await osmo(['run', fixture('raise'), '15']);
    assert.equal(r.status, 143, r.stderr);
  });
});

describe('bad input: one line, exit 2', () => {
  it('a missing file', async () => {
    const r = await osmo(['run', join(dir, 'nope.wasm')]);
    assert.equal(r.status, 2);
    assertOneLine(r.stderr, /cannot read program .*nope\.wasm: no such file/);
  });

  it('a file name with an escape sequence reaches the terminal without it', async () => {
    const r = await osmo(['run', join(dir, 'red\x1b[31mname.wasm')]);
    assert.equal(r.status, 2);
    assertOneLine(r.stderr, /cannot read program .*red\?\[31mname\.wasm: no such file/);
    assert.ok(!r.stderr.includes('\x1b'), 'no ESC on stderr');
  });

  it('not a wasm file', async () => {
    const p = join(dir, 'text.wasm');
    writeFileSync(p, 'this is text\n');
    const r = await osmo(['run', p]);
    assert.equal(r.status, 2);
    assertOneLine(r.stderr, /not a WebAssembly module/);
  });

  it('a truncated module', async () => {
    const whole = readFileSync(fixture('exit_code'));
    const p = join(dir, 'half.wasm');
    writeFileSync(p, whole.subarray(0, Math.floor(whole.length / 2)));
    const r = await osmo(['run', p]);
    assert.equal(r.status, 2);
    assertOneLine(r.stderr, /truncated|not a valid WebAssembly module/);
  });

  it('an import outside wasi_snapshot_preview1, named', async () => {
    // (module (import "env" "mystery" (func)) (memory (export "memory") 1) (func (export "_start")))
    const bytes = Buffer.from(
      '0061736d01000000010401600000020f0103656e76076d7973746572790000030201000503010001071302066d656d6f727902000' +
        '65f737461727400010a040102000b',
      'hex',
    );
    const p = join(dir, 'env-import.wasm');
    writeFileSync(p, bytes);
    const r = await osmo(['run', p]);
    assert.equal(r.status, 2, r.stderr);
    assertOneLine(r.stderr, /imports function env\.mystery/);
  });

  it('no _start', async () => {
    // (module (memory (export "memory") 1))
    const bytes = Buffer.from('0061736d010000000503010001070a01066d656d6f72790200', 'hex');
    const p = join(dir, 'lib.wasm');
    writeFileSync(p, bytes);
    const r = await osmo(['run', p]);
    assert.equal(r.status, 2);
    assertOneLine(r.stderr, /no _start function/);
  });

  it('memory over --max-memory', async () => {
    const r = await osmo(['run', '--max-memory', '64K', fixture('exit_code'), '0']);
    assert.equal(r.status, 2);
    assertOneLine(r.stderr, /more than --max-memory/);
  });

  it('an unknown option', async () => {
    const r = await osmo(['run', '--bogus', fixture('exit_code')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown option '--bogus'/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('documents the exit codes in --help', async () => {
    const r = await osmo(['run', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout.toString(), /134\s+the program trapped/);
  });
});
