/* idle_cpu: an idle process with 100 started managers uses (almost) no CPU.
   Nothing in the library may spin or poll: delivery threads sleep on a
   condition variable and exit when idle, and the periodic tasks run at their
   intervals. The process's CPU time (getrusage) over 5 s of idleness must stay
   under IDLE_CPU_BOUND_MS. */
#include "testnative.h"

#include <sys/resource.h>

#define MANAGERS 100
#define IDLE_SECONDS 5
/* Go's runtime and the managers' timers wake now and then; a spinning thread
   would use the whole interval (5000 ms). */
#define IDLE_CPU_BOUND_MS 100

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int synced;

static void on_event(const libsds_event *e, void *ud) {
  (void)ud;
  if (e->type != LIBSDS_EVENT_PERIODIC_SYNC) return;
  pthread_mutex_lock(&mu);
  synced++;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

static double cpu_ms(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

int main(void) {
  static libsds_handle h[MANAGERS];
  for (int i = 0; i < MANAGERS; i++) {
    char pid[16];
    snprintf(pid, sizeof pid, "idle-%d", i);
    h[i] = memory_manager(pid, 0, 0);
    CHECK_EQ_INT(libsds_set_event_handler(h[i], on_event, NULL), LIBSDS_OK);
    CHECK_EQ_INT(libsds_start(h[i]), LIBSDS_OK); /* runs each task once: one PERIODIC_SYNC */
  }
  /* Everything the starts caused has been delivered. */
  pthread_mutex_lock(&mu);
  while (synced < MANAGERS) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);

  double before = cpu_ms();
  tu_sleep_ms(IDLE_SECONDS * 1000); /* not synchronisation: the idle period being measured */
  double used = cpu_ms() - before;
  printf("idle_cpu: %d started managers, %.1f ms CPU in %d s idle (bound %d ms)\n", MANAGERS, used, IDLE_SECONDS,
         IDLE_CPU_BOUND_MS);
  CHECK(used < IDLE_CPU_BOUND_MS);
  for (int i = 0; i < MANAGERS; i++) CHECK_EQ_INT(libsds_free(h[i]), LIBSDS_OK);
  return tu_done("idle_cpu");
}
