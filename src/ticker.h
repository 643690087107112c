/* The reporting loop of interval tools: a report every interval until a
 * signal, the count, the duration or the target's exit. */
#ifndef CKBTRACE_TICKER_H
#define CKBTRACE_TICKER_H

#include <signal.h>
#include <stdint.h>

#include "cli.h"
#include "run.h"
#include "target.h"

struct ticker {
	double interval;	/* seconds */
	double duration;	/* seconds, 0: none */
	uint64_t count;		/* reports, 0: none */
	/* print one report of secs seconds: 0, or non-zero to stop (the
	 * output failed) */
	int (*report)(void *arg, double secs);
	/* wait up to 50 ms (for events to arrive); NULL: sleep 50 ms */
	void (*wait)(void *arg);
	void *arg;
	/* state */
	uint64_t begin_ns, last_ns, reports;
};

/* A ticker for the -i/-d/count options of r. */
void ticker_init(struct ticker *tk, const struct cli_report *r,
		 int (*report)(void *arg, double secs), void *arg);

/* Run until something ends it; the reason: "signal", "count", "output"
 * (a report failed), or one of run_over()'s ("duration", "target
 * exited", "target exec", "output closed"). */
const char *ticker_run(struct ticker *tk, const struct target *t,
		       volatile sig_atomic_t *stop);

/* After ticker_run() ended for a signal, the duration or the target's
 * exit: report the last, shorter interval if it is over 1 ms.  0, or
 * what report returned. */
int ticker_last(struct ticker *tk);

/* The end of a run's reporting, for reason (from ticker_run, or the
 * tool's own loop with tk NULL): detach r, so nothing more comes in;
 * report the last interval (not after "count", "output" or "output
 * closed"); call summary(arg, reason) (not after those two); then
 * run_end(): the closing line (target exited or exec()ed, output not
 * written) and the exit status, 1 for those and for a report that
 * failed, else 0. */
int ticker_end(struct ticker *tk, struct run *r, const char *reason,
	       void (*summary)(void *arg, const char *reason), void *arg);

#endif
