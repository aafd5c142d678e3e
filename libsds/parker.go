package main

/*
#include <pthread.h>
#include <stdlib.h>

// A wake-up flag for one manager's idle dispatcher, in C: a thread blocked
// here is woken by the OS directly, several times faster than a goroutine
// parked by the Go scheduler is woken from a C caller's thread.
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int pending;
} sdsi_parker;

static sdsi_parker *sdsi_parker_new(void) {
  sdsi_parker *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  return p;
}

static void sdsi_park(sdsi_parker *p) {
  pthread_mutex_lock(&p->mu);
  while (!p->pending) pthread_cond_wait(&p->cv, &p->mu);
  p->pending = 0;
  pthread_mutex_unlock(&p->mu);
}

static void sdsi_unpark(sdsi_parker *p) {
  pthread_mutex_lock(&p->mu);
  p->pending = 1;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

static void sdsi_parker_free(sdsi_parker *p) {
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  free(p);
}
*/
import "C"

// cParker parks a manager's dispatcher on a C condition variable (see
// dispatch.NewWithParker). It holds one OS thread per manager while idle.
type cParker struct{ p *C.sdsi_parker }

func newCParker() *cParker {
	p := C.sdsi_parker_new()
	if p == nil {
		panic("libsds: out of memory")
	}
	return &cParker{p: p}
}

// Park blocks the dispatcher's thread in C until Unpark.
func (c *cParker) Park() { C.sdsi_park(c.p) }

// Unpark wakes the dispatcher.
func (c *cParker) Unpark() { C.sdsi_unpark(c.p) }

// Close frees the C state; the dispatcher calls it as it exits.
func (c *cParker) Close() error {
	C.sdsi_parker_free(c.p)
	return nil
}
