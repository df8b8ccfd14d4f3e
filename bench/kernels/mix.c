/*
 * mix: a CoreMark-like blend of integer work per iteration - linked-list find/reverse/merge-sort,
 * a small integer matrix multiply, a character state machine, all folded into a CRC-16.
 *
 *   mix [ITERS]          default ITERS=60000; prints "mix iters=I crc=0x...."
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- CRC-16 (CCITT, bitwise like CoreMark's crcu8) ---- */
static uint16_t crc8(uint8_t data, uint16_t crc) {
  for (int i = 0; i < 8; i++) {
    int x16 = (data & 1) ^ (crc & 1);
    data >>= 1;
    crc = (uint16_t)(x16 ? ((crc ^ 0x4002) >> 1) | 0x8000 : crc >> 1);
  }
  return crc;
}
static uint16_t crc16(uint16_t v, uint16_t crc) { return crc8((uint8_t)(v >> 8), crc8((uint8_t)v, crc)); }

/* ---- linked list ---- */
#define LN 256
struct node {
  struct node *next;
  int16_t key, val;
};
static struct node pool[LN];

static struct node *list_init(uint16_t seed) {
  for (int i = 0; i < LN; i++) {
    pool[i].next = i + 1 < LN ? &pool[i + 1] : NULL;
    pool[i].key = (int16_t)i;
    pool[i].val = (int16_t)((i * 7919 + seed) & 0x7fff);
  }
  return &pool[0];
}
static struct node *list_reverse(struct node *l) {
  struct node *prev = NULL;
  while (l) {
    struct node *n = l->next;
    l->next = prev;
    prev = l;
    l = n;
  }
  return prev;
}
static struct node *list_find(struct node *l, int16_t key) {
  while (l && l->key != key) l = l->next;
  return l;
}
static int cmp_val(const struct node *a, const struct node *b) { return a->val - b->val; }
static int cmp_key(const struct node *a, const struct node *b) { return a->key - b->key; }
/* Bottom-up merge sort of a singly linked list (as in CoreMark). */
static struct node *list_sort(struct node *list, int (*cmp)(const struct node *, const struct node *)) {
  for (int insize = 1;; insize *= 2) {
    struct node *p = list, *tail = NULL;
    list = NULL;
    int merges = 0;
    while (p) {
      merges++;
      struct node *q = p;
      int psize = 0, qsize = insize;
      for (int i = 0; i < insize && q; i++) {
        psize++;
        q = q->next;
      }
      while (psize > 0 || (qsize > 0 && q)) {
        struct node *e;
        if (psize == 0) { e = q; q = q->next; qsize--; }
        else if (qsize == 0 || !q) { e = p; p = p->next; psize--; }
        else if (cmp(p, q) <= 0) { e = p; p = p->next; psize--; }
        else { e = q; q = q->next; qsize--; }
        if (tail) tail->next = e;
        else list = e;
        tail = e;
      }
      p = q;
    }
    tail->next = NULL;
    if (merges <= 1) return list;
  }
}

/* ---- matrix ---- */
#define MN 24
static int16_t ma[MN][MN], mb[MN][MN];
static int32_t mc[MN][MN];
static uint16_t matrix_work(uint16_t seed) {
  for (int i = 0; i < MN; i++)
    for (int j = 0; j < MN; j++) {
      ma[i][j] = (int16_t)((seed + i * j) & 0xff);
      mb[i][j] = (int16_t)((seed ^ (i + j)) & 0xff);
    }
  for (int i = 0; i < MN; i++)
    for (int j = 0; j < MN; j++) {
      int32_t s = 0;
      for (int k = 0; k < MN; k++) s += ma[i][k] * mb[k][j];
      mc[i][j] = s;
    }
  uint16_t crc = 0;
  for (int i = 0; i < MN; i++)
    for (int j = 0; j < MN; j++) crc = crc16((uint16_t)(mc[i][j] > 100000 ? mc[i][j] >> 4 : mc[i][j]), crc);
  return crc;
}

/* ---- state machine: classify comma-separated tokens (int, float, sci, invalid) ---- */
enum { S_START, S_INT, S_FLOAT, S_EXP, S_SCI, S_INVALID, S_COUNT };
static char text[512];
static uint16_t state_work(uint16_t seed) {
  static const char *tokens[] = {"5012", "1.5e3", "-190", "3.14", "+0.1e-2", "9x9", "777", "-.5", "1e", "42"};
  int pos = 0;
  for (int i = 0; pos < (int)sizeof text - 16; i++) {
    const char *t = tokens[(i + seed) % 10];
    while (*t) text[pos++] = *t++;
    text[pos++] = ',';
  }
  text[pos] = 0;
  unsigned counts[S_COUNT] = {0};
  int state = S_START;
  for (const char *p = text; *p; p++) {
    char c = *p;
    if (c == ',') {
      counts[state]++;
      state = S_START;
      continue;
    }
    int digit = c >= '0' && c <= '9';
    switch (state) {
    case S_START: state = digit || c == '+' || c == '-' ? S_INT : c == '.' ? S_FLOAT : S_INVALID; break;
    case S_INT: state = digit ? S_INT : c == '.' ? S_FLOAT : (c == 'e' || c == 'E') ? S_EXP : S_INVALID; break;
    case S_FLOAT: state = digit ? S_FLOAT : (c == 'e' || c == 'E') ? S_EXP : S_INVALID; break;
    case S_EXP: state = digit || c == '+' || c == '-' ? S_SCI : S_INVALID; break;
    case S_SCI: state = digit ? S_SCI : S_INVALID; break;
    default: break;
    }
  }
  uint16_t crc = 0;
  for (int i = 0; i < S_COUNT; i++) crc = crc16((uint16_t)counts[i], crc);
  return crc;
}

int main(int argc, char **argv) {
  long iters = argc > 1 ? atol(argv[1]) : 60000;
  uint16_t crc = 0;
  for (long it = 0; it < iters; it++) {
    uint16_t seed = (uint16_t)(it ^ crc);
    struct node *l = list_init(seed);
    l = list_reverse(l);
    for (int k = 0; k < 8; k++) {
      struct node *f = list_find(l, (int16_t)((seed + k * 37) % (LN + 16)));
      crc = crc16(f ? (uint16_t)f->val : 0xffff, crc);
    }
    l = list_sort(l, cmp_val);
    crc = crc16((uint16_t)l->val, crc);
    l = list_sort(l, cmp_key);
    crc = crc16((uint16_t)l->next->key, crc);
    crc = crc16(matrix_work(seed), crc);
    crc = crc16(state_work(seed), crc);
  }
  printf("mix iters=%ld crc=0x%04x\n", iters, crc);
  return 0;
}
