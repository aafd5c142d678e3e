/* A program written against nim-sds's libsds.h, unchanged: built against the
   installed headers with pkg-config by `make test-install`. */
#include <libsds.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>

static sem_t done;
static int last_ret = -1;

static void cb(int ret, const char *msg, size_t len, void *ud) {
  (void)msg;
  (void)len;
  (void)ud;
  last_ret = ret;
  sem_post(&done);
}

int main(void) {
  sem_init(&done, 0, 0);
  libsdsNimMain();
  initializeLibrary();
  void *ctx = SdsNewReliabilityManager(cb, NULL);
  if (!ctx) return 1;
  sem_wait(&done);
  char msg[] = "hello";
  if (SdsWrapOutgoingMessage(ctx, msg, strlen(msg), "m1", "c1", cb, NULL) != RET_OK) return 2;
  sem_wait(&done);
  if (last_ret != RET_OK) return 3;
  if (SdsCleanupReliabilityManager(ctx, cb, NULL) != RET_OK) return 4;
  sem_wait(&done);
  printf("nim-style program: ok\n");
  return 0;
}
