#include <stdlib.h>
#include <unistd.h>

#include "duty.h"
#include "util.h"

static void account(struct duty *d, const struct run *r, uint64_t now_ns)
{
	bool have = r->ps.n > 0;

	if (d->attached && !have)
		d->traced_ns += now_ns - d->since_ns;
	else if (!d->attached && have)
		d->since_ns = now_ns;
	d->attached = have;
}

void duty_init(struct duty *d, const struct run *r, unsigned pct,
	       uint64_t period_ns, uint64_t now_ns)
{
	d->pct = pct;
	d->period_ns = period_ns;
	d->attached = false;
	d->traced_ns = 0;
	d->slices = 0;
	d->seed = (unsigned)now_ns ^ (unsigned)getpid();
	duty_period(d, now_ns);
	account(d, r, now_ns);
}

void duty_period(struct duty *d, uint64_t now_ns)
{
	uint64_t slice = d->period_ns * d->pct / 100;
	uint64_t room = d->period_ns - slice;
	/* leave a little of the period after the slice, so the detach is
	 * done before the period's report */
	uint64_t spare = room > 20000000 ? room - 20000000 : 0;
	double r = (double)rand_r(&d->seed) / ((double)RAND_MAX + 1.0);

	d->on_ns = now_ns + (uint64_t)(r * (double)spare);
	d->off_ns = d->on_ns + slice;
}


int duty_tick(struct duty *d, struct run *r, bool may_attach, uint64_t now_ns)
{
	bool want = may_attach && now_ns >= d->on_ns && now_ns < d->off_ns;
	int err = 0;

	account(d, r, now_ns);
	if (want && !d->attached) {
		err = run_attach(r);
		if (!err) {
			/* the links go in one by one, each firing as soon as it
			 * exists: count the slice from halfway through (under
			 * load attaching 50 links takes 100 ms or more) */
			d->slices++;
			d->attached = true;
			d->since_ns = now_ns + (mono_ns() - now_ns) / 2;
		}
	} else if (!want && d->attached) {
		/* the links are closed by a pool of threads, each breakpoint
		 * going when its close starts; the closes then wait for grace
		 * periods: count the slice to halfway through */
		d->attached = false;
		run_detach(r);
		d->traced_ns += now_ns + (mono_ns() - now_ns) / 2 - d->since_ns;
	}
	return err;
}

uint64_t duty_traced_ns(const struct duty *d, uint64_t now_ns)
{
	return d->traced_ns + (d->attached ? now_ns - d->since_ns : 0);
}

uint64_t duty_next_ns(const struct duty *d, uint64_t now_ns)
{
	if (now_ns < d->on_ns)
		return d->on_ns;
	if (now_ns < d->off_ns)
		return d->off_ns;
	return 0;
}
