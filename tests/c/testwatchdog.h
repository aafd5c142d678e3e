/* For tests that must not hang, usable beside any other test header:
   - a watchdog: wd_stage(name, seconds) arms alarm() for the step that
     follows; if it fires, the program prints the step's name and exits with
     status 1;
   - wd_thread_state(tid): the scheduler state of a thread of this process
     ('S' while it is blocked), for checking that a call blocks inside the
     library, where it cannot signal anything (Linux /proc). */
#ifndef LIBSDS_TESTWATCHDOG_H
#define LIBSDS_TESTWATCHDOG_H

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static const char *volatile wd_current = "start";

static void wd_fire(int sig) {
  (void)sig;
  static const char msg[] = "HUNG (watchdog) in stage: ";
  const char *s = wd_current;
  (void)!write(2, msg, sizeof msg - 1);
  (void)!write(2, s, strlen(s));
  (void)!write(2, "\n", 1);
  _exit(1);
}

/* Names the next step and gives it seconds to finish; 0 disarms. */
static inline void wd_stage(const char *name, unsigned seconds) {
  wd_current = name;
  signal(SIGALRM, wd_fire);
  alarm(seconds);
}

/* The scheduler state of thread tid ('S': blocked), or 0 if unknown. */
static inline char wd_thread_state(pid_t tid) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *paren = strrchr(buf, ')');
  return paren && paren[1] == ' ' ? paren[2] : 0;
}

#endif
