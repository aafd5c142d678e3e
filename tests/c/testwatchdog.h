/* A watchdog for tests that must not hang, usable beside any other test
   header: wd_stage(name, seconds) arms alarm() for the step that follows; if
   it fires, the program prints the step's name and exits with status 1. */
#ifndef LIBSDS_TESTWATCHDOG_H
#define LIBSDS_TESTWATCHDOG_H

#include <signal.h>
#include <string.h>
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

#endif
