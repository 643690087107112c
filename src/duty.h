/* A low-duty schedule (--duty PCT): the run's probes attached for PCT% of
 * every period, at a random moment of it, and detached for the rest, so
 * that a traced process pays the uprobe traps only then.  The programs
 * and maps stay loaded; only run_attach()/run_detach() are called.  The
 * time the probes were really attached is measured, so that counts can be
 * extrapolated from it. */
#ifndef CKBTRACE_DUTY_H
#define CKBTRACE_DUTY_H

#include <stdbool.h>
#include <stdint.h>

#include "run.h"

struct duty {
	unsigned pct;			/* 1..99 */
	uint64_t period_ns;
	uint64_t on_ns, off_ns;		/* this period's slice, mono_ns() */
	bool attached;			/* as last seen */
	uint64_t since_ns;		/* attached since */
	uint64_t traced_ns;		/* attached time of past slices */
	uint64_t slices;
	unsigned seed;
};

/* pct of every period_ns.  The first period starts at now_ns; r may be
 * attached already (the time counts as traced). */
void duty_init(struct duty *d, const struct run *r, unsigned pct,
	       uint64_t period_ns, uint64_t now_ns);

/* A new period starts at now_ns: place its slice. */
void duty_period(struct duty *d, uint64_t now_ns);

/* Attach or detach r as the schedule says at now_ns; never attach when
 * may_attach is false (no target).  Also notices attaches and detaches
 * made by others (a re-attach after a restart).  0 or -errno of
 * run_attach(). */
int duty_tick(struct duty *d, struct run *r, bool may_attach, uint64_t now_ns);

/* Nanoseconds the probes have been attached, up to now_ns. */
uint64_t duty_traced_ns(const struct duty *d, uint64_t now_ns);

/* When duty_tick next has something to do (0: nothing this period). */
uint64_t duty_next_ns(const struct duty *d, uint64_t now_ns);

#endif
