/* A program written against nim-sds 0.4's libsds.h (the sds_* JSON API),
   unchanged: built against the installed headers with pkg-config by
   `make test-install`. It uses only what nim-sds 0.4's header declares. */
#include <libsds.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sem_t done;
static int last_ret = -1;
static char last_msg[65536];

static void cb(int callerRet, const char *msg, size_t len, void *userData) {
  (void)userData;
  last_ret = callerRet;
  if (len >= sizeof last_msg) len = sizeof last_msg - 1;
  memcpy(last_msg, msg, len); /* the library frees msg when the callback returns */
  last_msg[len] = 0;
  sem_post(&done);
}

static void on_event(int callerRet, const char *msg, size_t len, void *userData) {
  (void)callerRet;
  (void)msg;
  (void)len;
  (void)userData;
}

static void hint(const char *messageId, char **hintOut, size_t *hintLen, void *userData) {
  (void)userData;
  *hintLen = strlen(messageId);
  *hintOut = malloc(*hintLen); /* freed by the library with free() */
  memcpy(*hintOut, messageId, *hintLen);
}

int main(void) {
  sem_init(&done, 0, 0);
  void *ctx = sds_create("{\"participantId\":\"alice\"}", cb, NULL);
  if (!ctx) return 1;
  sem_wait(&done);
  if (last_ret != RET_OK || strtoull(last_msg, NULL, 10) != (unsigned long long)(size_t)ctx) return 2;
  sds_set_event_callback(ctx, on_event, NULL);
  if (sds_set_retrieval_hint_provider(ctx, hint, NULL) != RET_OK) return 3;
  if (sds_wrap_outgoing_message(ctx, cb, NULL, "{\"message\":[104,105],\"messageId\":\"m1\",\"channelId\":\"ch\"}") !=
      RET_OK)
    return 4;
  sem_wait(&done);
  if (last_ret != RET_OK || strncmp(last_msg, "{\"message\":[10,2,109,49,", 24) != 0) return 5;
  if (sds_mark_dependencies_met(ctx, cb, NULL, "{\"messageIds\":[],\"channelId\":\"ch\"}") != RET_OK) return 6;
  sem_wait(&done);
  if (sds_unwrap_received_message(ctx, cb, NULL, "{\"message\":[10,2,122,49,34,2,99,104]}") != RET_OK) return 7;
  sem_wait(&done);
  if (last_ret != RET_OK || strcmp(last_msg, "{\"message\":[],\"channelId\":\"ch\",\"missingDeps\":[]}") != 0) return 8;
  if (sds_start_periodic_tasks(ctx, cb, NULL) != RET_OK) return 9;
  sem_wait(&done);
  if (sds_reset(ctx, cb, NULL) != RET_OK) return 10;
  sem_wait(&done);
  if (sds_destroy(ctx, cb, NULL) != RET_OK) return 11;
  sem_wait(&done);
  if (last_ret != RET_OK) return 12;
  printf("nim04_style: ok\n");
  return 0;
}
