/* mem_bench: memory of many quiet channels through the native API. A sender
   and a receiver in one process; on each of C channels the sender wraps M
   messages of P bytes and the receiver unwraps each one. Reports peak RSS
   (getrusage) and the time per channel.
   Usage: mem_bench [channels] [messages per channel] [payload bytes]
   Linked against build/libsds.so. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include <sds.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long rss_kib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

int main(int argc, char **argv) {
  int C = argc > 1 ? atoi(argv[1]) : 1000, M = argc > 2 ? atoi(argv[2]) : 5, P = argc > 3 ? atoi(argv[3]) : 100;
  if (C < 1 || M < 1 || P < 1) {
    fprintf(stderr, "usage: mem_bench [channels >= 1] [messages >= 1] [payload bytes >= 1]\n");
    return 2;
  }
  long base = rss_kib();
  libsds_options o = LIBSDS_OPTIONS_INIT;
  o.config_set = LIBSDS_CFG_MAX_CHANNELS;
  o.max_channels = (uint32_t)C;
  libsds_handle a, b;
  if (libsds_new(&o, &a) != LIBSDS_OK || libsds_new(&o, &b) != LIBSDS_OK) {
    fprintf(stderr, "libsds_new: %s\n", libsds_last_error());
    return 1;
  }
  uint8_t *payload = malloc((size_t)P);
  for (int i = 0; i < P; i++) payload[i] = (uint8_t)('a' + i % 26);
  char id[64], ch[64];
  double t0 = now();
  for (int c = 0; c < C; c++) {
    snprintf(ch, sizeof ch, "channel-%d", c);
    for (int m = 0; m < M; m++) {
      snprintf(id, sizeof id, "msg-%d-%d", c, m);
      libsds_buffer wire;
      libsds_unwrapped *res;
      if (libsds_wrap(a, payload, (size_t)P, id, ch, &wire) != LIBSDS_OK ||
          libsds_unwrap(b, wire.data, wire.len, &res) != LIBSDS_OK) {
        fprintf(stderr, "channel %d message %d: %s\n", c, m, libsds_last_error());
        return 1;
      }
      libsds_unwrapped_free(res);
      libsds_buffer_free(&wire);
    }
  }
  double t = now() - t0;
  long peak = rss_kib();
  printf("mem_bench: %d channels x %d messages of %d bytes, sender + receiver: peak RSS %.1f MiB"
         " (%.1f MiB before), %.1f us per channel\n",
         C, M, P, peak / 1024.0, base / 1024.0, t * 1e6 / C);
  libsds_free(a);
  libsds_free(b);
  free(payload);
  return 0;
}
