/* native_bench: the native API's counterpart of tests/bench/abi_bench.c:
   wrap message i on manager A, unwrap it on manager B, for N messages of P
   bytes on C channels; report µs per wrap and per unwrap (each call timed on
   its own), the first and last 5% averages, and peak RSS.
   Usage: native_bench [N] [payload bytes] [channels] [memory|normal|full] [dir]
   With normal or full, each manager keeps its state in its own SQLite file
   in dir (default /tmp) at that durability. Linked against build/libsds.so. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <sds.h>

#include "median.h"

static long ready, acked;

static void on_event(const libsds_event *ev, void *ud) {
  (void)ud;
  if (ev->type == LIBSDS_EVENT_MESSAGE_READY) __atomic_add_fetch(&ready, 1, __ATOMIC_RELAXED);
  if (ev->type == LIBSDS_EVENT_MESSAGE_ACKNOWLEDGED) __atomic_add_fetch(&acked, 1, __ATOMIC_RELAXED);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  int N = argc > 1 ? atoi(argv[1]) : 2000, P = argc > 2 ? atoi(argv[2]) : 100, C = argc > 3 ? atoi(argv[3]) : 1;
  const char *store = argc > 4 ? argv[4] : "memory";
  const char *dir = argc > 5 ? argv[5] : "/tmp";
  libsds_options oa = LIBSDS_OPTIONS_INIT, ob = LIBSDS_OPTIONS_INIT;
  char pa[512], pb[512];
  if (strcmp(store, "memory") != 0) {
    snprintf(pa, sizeof pa, "%s/native_bench_a_%d.db", dir, (int)getpid());
    snprintf(pb, sizeof pb, "%s/native_bench_b_%d.db", dir, (int)getpid());
    oa.store_kind = ob.store_kind = LIBSDS_STORE_SQLITE;
    oa.sqlite_path = pa;
    ob.sqlite_path = pb;
    oa.sqlite_durability = ob.sqlite_durability =
        strcmp(store, "full") == 0 ? LIBSDS_DURABILITY_FULL : LIBSDS_DURABILITY_NORMAL;
  }
  libsds_handle a, b;
  if (libsds_new(&oa, &a) != LIBSDS_OK || libsds_new(&ob, &b) != LIBSDS_OK) {
    fprintf(stderr, "libsds_new: %s\n", libsds_last_error());
    return 1;
  }
  libsds_set_event_handler(a, on_event, NULL);
  libsds_set_event_handler(b, on_event, NULL);
  uint8_t *payload = malloc((size_t)P);
  for (int i = 0; i < P; i++) payload[i] = (uint8_t)('a' + i % 26);
  int edge = N / 20 > 0 ? N / 20 : 1;
  double wsum = 0, usum = 0, wfirst = 0, wlast = 0, ufirst = 0, ulast = 0;
  double *wcall = calloc((size_t)N, sizeof(double)), *ucall = calloc((size_t)N, sizeof(double)),
         *pcall = calloc((size_t)N, sizeof(double));
  size_t bytes = 0;
  char id[64], ch[64];
  for (int i = 0; i < N; i++) {
    snprintf(id, sizeof id, "msg-%d", i);
    snprintf(ch, sizeof ch, "chan-%d", i % C);
    libsds_buffer wire;
    double t0 = now();
    if (libsds_wrap(a, payload, (size_t)P, id, ch, &wire) != LIBSDS_OK) {
      fprintf(stderr, "wrap: %s\n", libsds_last_error());
      return 1;
    }
    double t1 = now();
    libsds_unwrapped *res;
    if (libsds_unwrap(b, wire.data, wire.len, &res) != LIBSDS_OK) {
      fprintf(stderr, "unwrap: %s\n", libsds_last_error());
      return 1;
    }
    double t2 = now();
    bytes += wire.len;
    libsds_unwrapped_free(res);
    libsds_buffer_free(&wire);
    double w = (t1 - t0) * 1e6, u = (t2 - t1) * 1e6;
    wsum += w;
    usum += u;
    wcall[i] = w, ucall[i] = u, pcall[i] = w + u;
    if (i < edge) wfirst += w, ufirst += u;
    if (i >= N - edge) wlast += w, ulast += u;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("native API: N=%d payload=%d channels=%d store=%s\n", N, P, C, store);
  printf("  wrap   %8.2f us/msg  (first 5%% %.2f, last 5%% %.2f)\n", wsum / N, wfirst / edge, wlast / edge);
  printf("  unwrap %8.2f us/msg  (first 5%% %.2f, last 5%% %.2f)\n", usum / N, ufirst / edge, ulast / edge);
  printf("  median wrap %.2f us, unwrap %.2f us, pair %.2f us\n", median(wcall, N), median(ucall, N), median(pcall, N));
  printf("  wire   %8.0f bytes/msg, peak RSS %.1f MiB\n", (double)bytes / N, ru.ru_maxrss / 1024.0);
  libsds_free(a);
  libsds_free(b);
  printf("  events: %ld ready, %ld acknowledged\n", ready, acked);
  free(payload);
  free(wcall);
  free(ucall);
  free(pcall);
  if (strcmp(store, "memory") != 0) {
    const char *suffix[] = {"", "-wal", "-shm"};
    char f[600];
    for (int i = 0; i < 3; i++) {
      snprintf(f, sizeof f, "%s%s", pa, suffix[i]);
      unlink(f);
      snprintf(f, sizeof f, "%s%s", pb, suffix[i]);
      unlink(f);
    }
  }
  return ready == N ? 0 : 1;
}
