/* Two peers, one chat: alice asks, then answers herself; bob receives the
   answer first, yet shows both in causal order, each with its content. */
#include <pthread.h>
#include <sds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char view[256]; /* bob's chat view: one line per MESSAGE_READY */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t synced_cond = PTHREAD_COND_INITIALIZER;
static int synced; /* bob's PERIODIC_SYNC arrived: so did every earlier event */

static void on_event(const libsds_event *ev, void *user_data) { /* a library thread */
  (void)user_data;
  pthread_mutex_lock(&lock);
  size_t used = strlen(view);
  if (ev->type == LIBSDS_EVENT_MESSAGE_READY)
    snprintf(view + used, sizeof view - used, "%s: %.*s\n", ev->message_id.data,
             (int)ev->content_len, (const char *)ev->content);
  if (ev->type == LIBSDS_EVENT_PERIODIC_SYNC) {
    synced = 1;
    pthread_cond_signal(&synced_cond);
  }
  pthread_mutex_unlock(&lock);
}

static void check(int rc, const char *what) {
  if (rc != LIBSDS_OK) {
    fprintf(stderr, "%s: %s\n", what, libsds_last_error());
    exit(1);
  }
}

static libsds_handle new_peer(const char *name) {
  libsds_options opts = LIBSDS_OPTIONS_INIT;
  opts.participant_id = name; /* enables SDS-R repair */
  libsds_handle h = 0;
  check(libsds_new(&opts, &h), "libsds_new");
  return h;
}

static libsds_buffer send_text(libsds_handle h, const char *text, const char *id) {
  libsds_buffer wire;
  check(libsds_wrap(h, (const uint8_t *)text, strlen(text), id, "general", &wire), "libsds_wrap");
  return wire; /* what the transport broadcasts */
}

int main(void) {
  libsds_handle alice = new_peer("alice"), bob = new_peer("bob");
  check(libsds_set_event_handler(bob, on_event, NULL), "libsds_set_event_handler");

  libsds_buffer question = send_text(alice, "lunch?", "q1");
  libsds_buffer answer = send_text(alice, "at noon", "a1"); /* cites q1 */

  libsds_unwrapped *in; /* the network delivers the answer first: it waits */
  check(libsds_unwrap(bob, answer.data, answer.len, &in), "libsds_unwrap");
  printf("%s waits for %zu message(s)\n", in->message_id.data, in->missing_deps_len);
  libsds_unwrapped_free(in);
  check(libsds_unwrap(bob, question.data, question.len, &in), "libsds_unwrap");
  libsds_unwrapped_free(in);

  /* Events come in order: a sync event asked for now arrives after the others. */
  check(libsds_run_tasks(bob, LIBSDS_TASK_SYNC), "libsds_run_tasks");
  pthread_mutex_lock(&lock);
  while (!synced) pthread_cond_wait(&synced_cond, &lock);
  pthread_mutex_unlock(&lock);

  libsds_buffer_free(&question);
  libsds_buffer_free(&answer);
  libsds_free(alice);
  libsds_free(bob); /* drops events not yet delivered: none are left */
  fputs(view, stdout);
  return strcmp(view, "q1: lunch?\na1: at noon\n") == 0 ? 0 : 1;
}
