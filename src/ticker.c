#include <time.h>

#include "cli.h"
#include "ticker.h"
#include "util.h"

const char *ticker_run(struct ticker *tk, const struct target *t,
		       volatile sig_atomic_t *stop)
{
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	uint64_t now, period = (uint64_t)(tk->interval * 1e9);
	const char *reason;

	tk->begin_ns = tk->last_ns = mono_ns();
	for (;;) {
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
