#include <string.h>
#include <time.h>

#include "cli.h"
#include "ticker.h"
#include "util.h"

void ticker_init(struct ticker *tk, const struct cli_report *r,
		 int (*report)(void *arg, double secs), void *arg)
{
	memset(tk, 0, sizeof(*tk));
	tk->interval = r->interval;
	tk->duration = r->duration;
	tk->count = r->count;
	tk->report = report;
	tk->arg = arg;
}

const char *ticker_run(struct ticker *tk, const struct target *t,
		       volatile sig_atomic_t *stop)
{
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	uint64_t now, period = (uint64_t)(tk->interval * 1e9);
	const char *reason;

	tk->begin_ns = tk->last_ns = mono_ns();
	for (;;) {
		if (tk->wait)
			tk->wait(tk->arg);
		else
			nanosleep(&nap, NULL);
		now = mono_ns();
		if (*stop)
			return "signal";
		reason = run_over(t, tk->begin_ns, tk->duration);
		if (reason)
			return reason;
		if (now - tk->last_ns < period)
			continue;
		if (tk->report(tk->arg, (double)(now - tk->last_ns) / 1e9))
			return "output";
		tk->last_ns = now;
		if (tk->count && ++tk->reports >= tk->count)
			return "count";
	}
}

int ticker_last(struct ticker *tk)
{
	uint64_t now = mono_ns(), last = tk->last_ns;

	if (now - last <= 1000000)
		return 0;
	tk->last_ns = now;
	return tk->report(tk->arg, (double)(now - last) / 1e9);
}

int ticker_end(struct ticker *tk, struct run *r, const char *reason,
	       void (*summary)(void *arg, const char *reason), void *arg)
{
	/* a report failed: the output (said by run_end), or the maps */
	if (strcmp(reason, "output") == 0)
		return out_flush() ? run_end(&r->t, NULL) : 1;
	if (strcmp(reason, "output closed") == 0)
		return run_end(&r->t, reason);
	run_detach(r);
	if (tk && strcmp(reason, "count") != 0 && ticker_last(tk) != 0)
		return out_flush() ? run_end(&r->t, NULL) : 1;
	summary(arg, reason);
	return run_end(&r->t, reason);
}
