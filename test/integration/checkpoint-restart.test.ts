/**
 * Preemption end to end through the real CLI: periodic checkpoints of a running program, and
 * `osmo restart` continuing from one with exactly the output the program had left to write.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openImageFile, writeImageFile } from '../../src/snapshot/index.js';
import type { SnapshotMeta } from '../../src/snapshot/index.js';
import { fixture, makeScratch, osmo, removeScratch } from '../helpers/osmo.js';

let dir = '';
let plain = '';
before(async () => {
  dir = makeScratch();
  const r = await osmo(['run', fixture('steps')]);
  assert.equal(r.status, 0, r.stderr);
  plain = r.stdout.toString();
});
after(() => removeScratch(dir));

function assertOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, pattern);
}

describe('checkpoint and restart', () => {
  let image = '';

  it('periodic checkpoints do not change the output', async () => {
    const base = join(dir, 'ck.osmosnap');
    const r = await osmo(
      [
        'run',
        '--checkpoint-file',
        base,
        '--checkpoint-every',
        '0.004',
        '--checkpoint-keep',
        '3',
        fixture('steps'),
      ],
      { stdinNull: true },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), plain);
    const images = readdirSync(dir).filter((f) => /^ck\.osmosnap\.[123]$/.test(f));
    assert.ok(images.length >= 1, `no checkpoint was written: ${readdirSync(dir).join(' ')}`);
    image = join(dir, images.sort()[0]!);
  });

  it('osmo restart continues with exactly the rest of the output', async () => {
    assert.ok(image !== '', 'needs the image of the previous test');
    const r = await osmo(['restart', image], { stdinNull: true });
    assert.equal(r.status, 0, r.stderr);
    const rest = r.stdout.toString();
    assert.ok(plain.endsWith(rest), `restart output is not the end of the run's:\n${rest}`);
    assert.match(rest, /step 30 /);
  });

  it('refuses an image whose stdin was a pipe, naming fd 0, unless --force', async () => {
    const base = join(dir, 'piped.osmosnap');
    const r = await osmo(
      ['run', '--checkpoint-file', base, '--checkpoint-every', '0.004', fixture('steps')],
      {
        input: '',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const refused = await osmo(['restart', base], { stdinNull: true });
    assert.equal(refused.status, 2);
    assertOneLine(refused.stderr, /fd 0 \(stdin\).*--force/);
    const forced = await osmo(['restart', '--force', base], { stdinNull: true });
    assert.equal(forced.status, 0, forced.stderr);
    assert.ok(plain.endsWith(forced.stdout.toString()));
  });

  it('osmo ps, checkpoint, freeze and continue reach a running program by PID', async () => {
    const runtime = makeScratch();
    const env = { ...process.env, XDG_RUNTIME_DIR: runtime, XDG_STATE_HOME: runtime };
    const ckFile = join(dir, 'by-pid.osmosnap');
    const frozenCk = join(dir, 'by-pid-frozen.osmosnap');
    const control = async (...a: string[]): Promise<void> => {
      const r = await osmo(a, { env });
      assert.equal(r.status, 0, `${a.join(' ')}: ${r.stderr}`);
    };
    // Far more steps than the test needs, so the program cannot end before it is acted on
    // however fast the machine; once it has visibly gone on after `continue`, SIGTERM ends it.
    let seen = '';
    let linesAtContinue = -1;
    let terminated = false;
    let acted: Promise<void> | undefined;
    const r = await osmo(['run', '--preemptible', fixture('steps'), '1000000', '2000000'], {
      env,
      stdinNull: true,
      onStdout: (chunk, child) => {
        seen += chunk.toString();
        const lines = seen.split('\n').length - 1;
        // Once: a second SIGTERM could land after osmo run has let go of its handlers.
        if (linesAtContinue >= 0 && lines > linesAtContinue && !terminated) {
          terminated = true;
          child.kill('SIGTERM');
        }
        acted ??= (async () => {
          const ps = await osmo(['ps', '--json'], { env });
          const list = (
            JSON.parse(ps.stdout.toString()) as { processes: { pid: number; state: string }[] }
          ).processes;
          assert.ok(
            list.some((p) => p.pid === child.pid && p.state === 'running'),
            ps.stdout.toString(),
          );
          await control('checkpoint', String(child.pid), '-o', ckFile);
          const froze = await osmo(['freeze', String(child.pid)], { env });
          assert.equal(froze.status, 0, froze.stderr);
          // Checkpointing a frozen program copies its frozen image (it has not run since).
          await control('checkpoint', String(child.pid), '-o', frozenCk);
          const frozenImage = readFileSync(froze.stdout.toString().trim());
          assert.ok(readFileSync(frozenCk).equals(frozenImage), 'the checkpoint is the image');
          const frozen = await osmo(['ps', '--json'], { env });
          assert.match(frozen.stdout.toString(), /"state":\s*"frozen"/);
          await control('continue', String(child.pid));
          linesAtContinue = seen.split('\n').length - 1;
        })();
      },
    });
    await acted;
    assert.equal(r.status, 143, r.stderr);
    const out = r.stdout.toString();
    const steps = out.split('\n').length - 1;
    assert.ok(steps > linesAtContinue, 'the program went on after continue');
    // Its own runtime directory: an osmo run after the removal would make it again (and leave it).
    const expected = await osmo(['run', fixture('steps'), String(steps), '2000000'], { env });
    removeScratch(runtime);
    assert.equal(out, expected.stdout.toString());
    assert.ok(readFileSync(ckFile).length > 0);
  });

  it('freezes and continues a program blocked reading stdin, losing no input', async () => {
    const runtime = makeScratch();
    const env = { ...process.env, XDG_RUNTIME_DIR: runtime, XDG_STATE_HOME: runtime };
    let acted: Promise<void> | undefined;
    const r = await osmo(['run', '--preemptible', fixture('stdin_wait')], {
      env,
      onStdout: (_chunk, child) => {
        // "ready": the program now waits in fd_read on stdin.
        acted ??= (async () => {
          const frozen = await osmo(['freeze', String(child.pid)], { env });
          assert.equal(frozen.status, 0, frozen.stderr);
          const ps = await osmo(['ps', '--json'], { env });
          assert.match(ps.stdout.toString(), /"state":\s*"frozen"/);
          const cont = await osmo(['continue', String(child.pid)], { env });
          assert.equal(cont.status, 0, cont.stderr);
          child.stdin!.end('typed after the freeze\n');
        })();
      },
    });
    await acted;
    removeScratch(runtime);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'ready\ngot: typed after the freeze\n');
  });

  it('checkpoints a sleeping program, and the restart finishes the sleep', async () => {
    const runtime = makeScratch();
    const env = { ...process.env, XDG_RUNTIME_DIR: runtime, XDG_STATE_HOME: runtime };
    const image = join(dir, 'sleeping.osmosnap');
    let acted: Promise<void> | undefined;
    const r = await osmo(['run', '--preemptible', fixture('sleep'), '1500'], {
      env,
      stdinNull: true,
      onStdout: (_chunk, child) => {
        acted ??= (async () => {
          const ck = await osmo(['checkpoint', String(child.pid), '-o', image], { env });
          assert.equal(ck.status, 0, ck.stderr);
        })();
      },
    });
    await acted;
    assert.equal(r.status, 0, r.stderr);
    const restarted = await osmo(['restart', image], { stdinNull: true, env });
    removeScratch(runtime);
    assert.equal(restarted.status, 0, restarted.stderr);
    assert.match(restarted.stdout.toString(), /^slept 1500\n$/);
  });

  it('a program checkpoints itself through /proc/self/checkpoint and restarts from that file', async () => {
    const image = join(dir, 'self.osmosnap');
    const r = await osmo(['run', '--preemptible', fixture('selfcheckpoint'), image], {
      stdinNull: true,
    });
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout.toString();
    assert.match(out, new RegExp(`^checkpointfile ${image}\n`));
    assert.match(out, /checkpoint requested\n/);
    const restarted = await osmo(['restart', image], { stdinNull: true });
    assert.equal(restarted.status, 0, restarted.stderr);
    // The image holds the program just after its request: it goes on from there.
    assert.equal(restarted.stdout.toString(), out.slice(out.indexOf('checkpoint requested')));
  });

  it('an image that cannot be written leaves the program running, its output unchanged', async () => {
    const runtime = makeScratch();
    const env = { ...process.env, XDG_RUNTIME_DIR: runtime, XDG_STATE_HOME: runtime };
    // Tickets: each step waits for a byte of stdin, so the program is surely still running when
    // the checkpoint reaches it (it gets the rest only once the checkpoint has failed).
    const steps = 8;
    const args = (file: string) => [fixture('migrant'), file, String(steps), '3000000', 'tickets'];
    const expected = (
      await osmo(['run', ...args(join(runtime, 'whole.txt'))], { env, input: 'x'.repeat(steps) })
    ).stdout.toString();
    let failed: Promise<{ status: number | null; stderr: string }> | undefined;
    const r = await osmo(['run', '--preemptible', ...args(join(runtime, 'tried.txt'))], {
      env,
      onSpawn: (child) => child.stdin!.write('x'),
      onStdout: (_chunk, child) => {
        failed ??= osmo(
          ['checkpoint', String(child.pid), '-o', join(dir, 'no', 'such', 'dir', 'x.osmosnap')],
          { env },
        ).then((result) => {
          child.stdin!.end('x'.repeat(steps - 1));
          return result;
        });
      },
    });
    const refused = await failed!;
    removeScratch(runtime);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /no such|ENOENT|cannot/i);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), expected);
  });

  it('refuses a corrupted image with one line, exit 2', async () => {
    const bad = join(dir, 'bad.osmosnap');
    const bytes = readFileSync(image);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(bad, bytes);
    const r = await osmo(['restart', bad], { stdinNull: true });
    assert.equal(r.status, 2);
    assertOneLine(r.stderr, /corrupt|checksum/i);
  });

  it('refuses a truncated image', async () => {
    const cut = join(dir, 'cut.osmosnap');
    writeFileSync(cut, readFileSync(image).subarray(0, 1000));
    const r = await osmo(['restart', cut], { stdinNull: true });
    assert.equal(r.status, 2);
    assertOneLine(r.stderr, /truncated|corrupt/i);
  });

  /** A copy of the image with its metadata changed, written whole (checksums made anew). */
  async function rewritten(
    name: string,
    change: (meta: SnapshotMeta) => SnapshotMeta,
  ): Promise<string> {
    const other = join(dir, name);
    const taken = openImageFile(image);
    try {
      const memory = new Uint8Array(taken.meta.memoryPages * 65536);
      taken.copyMemoryInto(memory);
      await writeImageFile(other, { ...change(taken.meta), memory });
    } finally {
      taken.close();
    }
    return other;
  }

  it('refuses an image taken by another instrumenter version (its stack is laid out differently)', async () => {
    const other = await rewritten('v2.osmosnap', (meta) => ({
      ...meta,
      counters: { ...meta.counters, instrumenterVersion: 2n },
    }));
    const r = await osmo(['restart', other], { stdinNull: true });
    assert.equal(r.status, 2);
    assertOneLine(r.stderr, /instrumenter version 2 made it; this osmo makes version \d+/);
  });

  it('refuses an image whose kept mailbox messages are not base64, whatever its checksums say', async () => {
    const other = await rewritten('mailbox.osmosnap', (meta) => ({
      ...meta,
      deputy: { ...(meta.deputy as object), mailbox: ['aGVsbG8=', 'not base64!'] },
    }));
    const r = await osmo(['restart', other], { stdinNull: true });
    assert.equal(r.status, 2);
    assertOneLine(r.stderr, /mailbox message 2 of 2 is not base64/);
  });

  it('refuses an image of another build of the program', async () => {
    // A copy of the program, taken by an image, then replaced by another program.
    const prog = join(dir, 'prog.wasm');
    copyFileSync(fixture('steps'), prog);
    const base = join(dir, 'other.osmosnap');
    const r = await osmo(['run', '--checkpoint-file', base, '--checkpoint-every', '0.004', prog]);
    assert.equal(r.status, 0, r.stderr);
    copyFileSync(fixture('exit_code'), prog);
    const again = await osmo(['restart', base], { stdinNull: true });
    assert.equal(again.status, 2);
    assertOneLine(again.stderr, /another build/);
  });
});
