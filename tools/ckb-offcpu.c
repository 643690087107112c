/* ckb-offcpu: where and why a node's threads wait off CPU, by thread,
 * user stack, kernel stack and state, from sched tracepoints. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../programs/offcpu.h"
#include "../src/bpfsys.h"
#include "../src/cli.h"
#include "../src/flame.h"
#include "../src/report.h"
#include "../src/run.h"
#include "../src/stackrep.h"
#include "../src/stacks.h"
#include "../src/util.h"
#include "offcpu.bpf.inc"

#define MAX_BLOCK_US 86400000000ull	/* a day */

static const char usage_text[] =
"USAGE: ckb-offcpu [-p PID] [-m MIN_US] [-M MAX_US] [-t GLOB] [-U | -K]\n"
"                  [-f | -j] [--flame FILE] [--stack fp] [-n N]\n"
"                  [--stack-storage-size N] [-d SEC] [-v] [--ebpf] [duration]\n"
"\n"
"Time a process's threads spend off CPU, from the sched_switch that\n"
"takes a thread off to the one that puts it back: total, count and max\n"
"per thread, user stack, kernel stack and state (S sleeping, D\n"
"uninterruptible, R preempted), reported at the end.\n"
"\n"
"  -p, --pid PID        trace this process (default: the one process\n"
"                       named \"ckb\")\n"
"  -m, --min-block US   count only blocks of at least US microseconds\n"
"  -M, --max-block US   count only blocks of at most US microseconds\n"
"  -t, --thread GLOB    only threads whose name matches GLOB ('rocksdb:*')\n"
"  -U, --user-stacks-only    no kernel stacks\n"
"  -K, --kernel-stacks-only  no user stacks\n"
"  -f, --folded         folded stacks (microseconds off CPU) for flame\n"
"                       graphs, instead of the text report\n"
"  -j, --json           JSON lines instead of the text report\n"
"      --flame FILE     also write an interactive flame graph page (HTML)\n"
"      --stack MODE     how user stacks are walked: fp (frame pointers, in\n"
"                       the kernel) is the one way here; auto means fp\n"
"  -n, --top N          stacks in the text report (default 10, 0: all)\n"
"      --stack-storage-size N  distinct stacks kept at most (16384)\n"
"  -d, --duration SEC   trace for SEC seconds (as the positional)\n"
"  -v, --verbose        show the probes, compiler output and every counter\n"
"      --ebpf           print the BPF program and its parameters, and exit\n"
"  -h, --help           this text\n"
"\n"
"  duration             seconds to trace (default: until Ctrl-C)\n"
"\n"
"EXAMPLES:\n"
"  ckb-offcpu -p $(pgrep -x ckb) 10           # top blocked stacks, 10 s\n"
"  ckb-offcpu -p PID -m 1000 -f 30 > off.folded  # blocks >= 1 ms, folded\n"
"  ckb-offcpu -p PID -t 'rocksdb:*' 10        # RocksDB's threads only\n"
"  ckb-offcpu -p PID --flame off.html 30      # a flame graph page\n"
"\n"
"Exit status: 0 done (Ctrl-C and SIGTERM included), 1 runtime error or\n"
"the traced process exited, 2 bad usage.\n";

struct opts {
	struct stack_opts s;
	uint64_t min_ns, max_ns;
};

enum { MAP_ROWS, MAP_STACKS, MAP_COUNTS, MAP_STACK_COUNTS, NMAPS };
static const char *const map_names[] = { "off_rows", "stack_ips",
					 "off_counts", "stack_counts" };

struct state {
	struct opts o;
	struct run run;
	int fds[NMAPS];
	struct stacks *stacks;
	struct stack_rows rows;
	struct flame *flame;
	FILE *flame_out;
	uint64_t counts[OFFC_COUNT];
	struct stack_counts sc;
	uint64_t begin_ns;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static uint64_t block_us(const char *what, const char *arg)
{
	uint64_t v;

	if (parse_u64(arg, 0, MAX_BLOCK_US, &v) != 0)
		usage_fail("bad %s '%s': want whole microseconds, at most %llu",
			   what, arg, MAX_BLOCK_US);
	return v;
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "min-block", required_argument, NULL, 'm' },
		{ "max-block", required_argument, NULL, 'M' },
		{ "stack", required_argument, NULL, 'S' },
		STACK_LONGS,
		{ NULL, 0, NULL, 0 },
	};
	bool max_set = false;
	int c;

	memset(o, 0, sizeof(*o));
	stack_opts_init(&o->s);
	o->max_ns = UINT64_MAX;
	while ((c = getopt_long(argc, argv, STACK_SHORTS "m:M:", longs,
				NULL)) != -1) {
		if (stack_opt(&o->s, c, optarg, usage_text, "mMS"))
			continue;
		if (c == 'S') {
			if (strcmp(optarg, "dwarf") == 0)
				usage_fail("--stack dwarf cannot be done at "
					   "sched_switch: the user registers "
					   "are only in the task struct, which "
					   "is never read; use fp (the man page "
					   "says more)");
			if (strcmp(optarg, "fp") && strcmp(optarg, "auto"))
				usage_fail("bad --stack '%s': want fp (or auto)",
					   optarg);
		} else if (c == 'm') {
			o->min_ns = block_us("--min-block", optarg) * 1000;
		} else {
			o->max_ns = block_us("--max-block", optarg) * 1000;
			max_set = true;
		}
	}
	stack_opts_args(&o->s, argc, argv);
	if (max_set && o->max_ns < o->min_ns)
		usage_fail("--max-block %llu us is below --min-block %llu us",
			   (unsigned long long)(o->max_ns / 1000),
			   (unsigned long long)(o->min_ns / 1000));
}

static int cflags_of(const struct opts *o, char (*buf)[48],
		     const char **cflags)
{
	int n = stack_cflags(&o->s, buf, cflags);

	snprintf(buf[n], 48, "-DMIN_NS=%lluULL",
		 (unsigned long long)o->min_ns);
	cflags[n] = buf[n];
	n++;
	snprintf(buf[n], 48, "-DMAX_NS=%lluULL",
		 (unsigned long long)o->max_ns);
	cflags[n] = buf[n];
	return n + 1;
}

static void print_ebpf(const struct opts *o)
{
	char buf[8][48];
	const char *cflags[8];
	int i, n = cflags_of(o, buf, cflags);

	printf("// cflags:");
	for (i = 0; i < n; i++)
		printf(" %s", cflags[i]);
	printf("\n");
	fputs(offcpu_bpf_text, stdout);
}

static const char *state_name(char st)
{
	switch (st) {
	case OFF_S: return "sleeping";
	case OFF_D: return "uninterruptible";
	case OFF_R: return "preempted";
	case OFF_T: return "stopped";
	case OFF_I: return "idle";
	}
	return "?";
}

static const char *leaf_state(const struct stack_row *row)
{
	static char label[2];

	label[0] = row->state;
	return label;
}

/* ---- reading the maps ---- */

static int on_row(const void *key, const void *value, void *arg)
{
	const struct off_key *k = key;
	const struct off_val *v = value;
	struct state *s = arg;
	struct stack_row row = {
		.tid = k->tid, .state = (char)k->state,
		.ustack = k->ustack, .kstack = k->kstack, .count = v->count,
		.total_ns = v->total_ns, .max_ns = v->max_ns,
		.runq_ns = v->runq_ns, .value = v->total_ns,
	};

	memcpy(row.thread, k->comm, sizeof(k->comm));
	row.thread[16] = '\0';
	return stack_rows_add(&s->rows, &row, s->o.s.thread);
}

static void read_counts(struct state *s)
{
	uint32_t i;

	for (i = 0; i < OFFC_COUNT; i++)
		if (bpf_map_sum_u64(s->fds[MAP_COUNTS], &i, &s->counts[i]) != 0)
			s->counts[i] = 0;
	if (stack_counts_read(s->fds[MAP_STACK_COUNTS], &s->sc) != 0)
		memset(&s->sc, 0, sizeof(s->sc));
}

static int collect(struct state *s)
{
	int err = bpf_map_dump(s->fds[MAP_ROWS], on_row, s);

	if (!err) {
		stack_rows_sort(&s->rows);
		err = stack_rows_resolve(&s->rows, s->stacks);
	}
	if (err)
		msg("cannot read the BPF maps: %s", strerror(-err));
	read_counts(s);
	return err;
}

/* ---- output ---- */

static void print_text(struct state *s, double secs)
{
	uint64_t total = stack_rows_total(&s->rows), blocks = 0;
	size_t i, shown;

	for (i = 0; i < s->rows.n; i++)
		blocks += s->rows.v[i].count;
	shown = s->o.s.top && s->o.s.top < s->rows.n ? s->o.s.top : s->rows.n;
	printf("Off-CPU time of PID %d (%s) over %.1f s: %.3f ms in %llu "
	       "blocks, %zu stacks%s%s%s\n", s->run.t.pid, s->run.t.exe_shown,
	       secs, (double)total / 1e6, (unsigned long long)blocks,
	       s->rows.n, s->o.s.thread ? ", threads '" : "",
	       s->o.s.thread ? s->o.s.thread : "", s->o.s.thread ? "'" : "");
	if (shown < s->rows.n)
		printf("The %zu stacks with the most time off CPU:\n", shown);
	for (i = 0; i < shown; i++) {
		const struct stack_row *r = &s->rows.v[i];
		struct sstack u = stacks_get(s->stacks, r->ustack, false);
		struct sstack k = stacks_get(s->stacks, r->kstack, true);

		printf("\n#%zu %s (TID %u) %c %s: %.3f ms off CPU in %llu "
		       "blocks, max %.3f ms, %.3f ms of it runnable\n", i + 1,
		       r->thread, r->tid, r->state, state_name(r->state),
		       (double)r->total_ns / 1e6,
		       (unsigned long long)r->count, (double)r->max_ns / 1e6,
		       (double)r->runq_ns / 1e6);
		stacks_print(stdout, &k, 4, false);
		if (stacks_shown(&k) && stacks_shown(&u))
			printf("    --\n");
		stacks_print(stdout, &u, 4, false);
	}
}

static void print_json(struct state *s)
{
	size_t i;

	for (i = 0; i < s->rows.n; i++) {
		const struct stack_row *r = &s->rows.v[i];

		printf("{\"type\":\"stack\",\"thread\":");
		json_string(stdout, r->thread);
		printf(",\"tid\":%u,\"state\":\"%c\",\"blocks\":%llu,"
		       "\"total_ns\":%llu,\"max_ns\":%llu,\"runq_ns\":%llu",
		       r->tid, r->state, (unsigned long long)r->count,
		       (unsigned long long)r->total_ns,
		       (unsigned long long)r->max_ns,
		       (unsigned long long)r->runq_ns);
		stack_rows_json(stdout, r, s->stacks);
		printf("}\n");
	}
}

/* Fold with values in microseconds, as the page and -f say. */
static int fold(struct state *s)
{
	size_t i;
	int err;

	for (i = 0; i < s->rows.n; i++)
		s->rows.v[i].value = s->rows.v[i].total_ns / 1000;
	err = stack_rows_fold(&s->rows, s->stacks, s->flame, leaf_state);
	for (i = 0; i < s->rows.n; i++)
		s->rows.v[i].value = s->rows.v[i].total_ns;
	if (err)
		msg("cannot fold the stacks: %s", strerror(-err));
	return err;
}

static int write_page(struct state *s, const char *reason)
{
	char title[PATH_MAX + 64], note[200], when[32];
	time_t now = time(NULL);
	struct tm tm;

	snprintf(title, sizeof(title), "Off-CPU time of PID %d (%s)",
		 s->run.t.pid, s->run.t.exe_shown);
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(note, sizeof(note), "ckb-offcpu: %llu blocks%s%s%s; ended "
		 "%s (%s)", (unsigned long long)s->counts[OFFC_BLOCKS],
		 s->o.s.thread ? ", threads '" : "",
		 s->o.s.thread ? s->o.s.thread : "",
		 s->o.s.thread ? "'" : "", when, reason);
	return stack_flame_write(&s->o.s, s->flame_out, s->flame, title,
				 "us off CPU", note);
}

static void summary(struct state *s, const char *reason, double secs)
{
	const uint64_t *c = s->counts, *k = s->sc.v;
	struct run_skips skips;

	run_skips_read(&s->run, &skips);
	if (s->o.s.json) {
		printf("{\"type\":\"summary\",\"reason\":\"%s\",\"seconds\":"
		       "%.3f,\"blocks\":%llu,\"under_min\":%llu,"
		       "\"over_max\":%llu,\"filtered_rows\":%llu,"
		       "\"lost_rows\":%llu,\"lost_starts\":%llu,"
		       "\"no_wakeup\":%llu,\"missed_ends\":%llu", reason, secs,
		       (unsigned long long)c[OFFC_BLOCKS],
		       (unsigned long long)c[OFFC_UNDER],
		       (unsigned long long)c[OFFC_OVER],
		       (unsigned long long)s->rows.filtered,
		       (unsigned long long)c[OFFC_KEYS_FULL],
		       (unsigned long long)c[OFFC_STARTS_FULL],
		       (unsigned long long)c[OFFC_NO_WAKEUP],
		       (unsigned long long)c[OFFC_NO_SWITCH_IN]);
		run_skips_json(stdout, &skips);
		stack_counts_json(stdout, &s->sc);
		printf("}\n");
	}
	out_flush();
	vmsg("%llu blocks counted, %llu under -m, %llu over -M; %llu stacks "
	     "kept, %llu user and %llu kernel ones not (the stack map was "
	     "full); %llu without a user stack; %llu sleeps ended without a "
	     "wakeup seen; %llu ends not seen", (unsigned long long)c[OFFC_BLOCKS],
	     (unsigned long long)c[OFFC_UNDER], (unsigned long long)c[OFFC_OVER],
	     (unsigned long long)k[STACKC_KEPT],
	     (unsigned long long)k[STACKC_USER_FULL],
	     (unsigned long long)k[STACKC_KERNEL_FULL],
	     (unsigned long long)k[STACKC_USER_NONE],
	     (unsigned long long)c[OFFC_NO_WAKEUP],
	     (unsigned long long)c[OFFC_NO_SWITCH_IN]);
	stack_counts_say(&s->sc, s->o.s.stack_entries);
	run_skips_say(&skips);
	if (c[OFFC_NO_SWITCH_IN])
		msg("%llu blocks not counted: the kernel did not run the "
		    "program when the thread came back on the CPU",
		    (unsigned long long)c[OFFC_NO_SWITCH_IN]);
	if (c[OFFC_KEYS_FULL] || c[OFFC_STARTS_FULL])
		msg("%llu blocks not counted: the rows map was full; %llu not "
		    "timed: the threads map was full",
		    (unsigned long long)c[OFFC_KEYS_FULL],
		    (unsigned long long)c[OFFC_STARTS_FULL]);
}

static void announce(const struct state *s)
{
	fprintf(stderr, "Tracing off-CPU time of PID %d (%s)%s%s%s... Hit "
		"Ctrl-C to end.\n", s->run.t.pid, s->run.t.exe_shown,
		s->o.s.thread ? ", threads '" : "",
		s->o.s.thread ? s->o.s.thread : "", s->o.s.thread ? "'" : "");
	if (!s->o.s.json)
		return;
	printf("{\"type\":\"start\",\"pid\":%d,\"binary\":", s->run.t.pid);
	json_string(stdout, s->run.t.exe_shown);
	printf(",\"stack_method\":\"fp\",\"min_ns\":%llu,\"max_ns\":",
	       (unsigned long long)s->o.min_ns);
	if (s->o.max_ns == UINT64_MAX)
		printf("null");
	else
		printf("%llu", (unsigned long long)s->o.max_ns);
	printf(",\"thread\":");
	if (s->o.s.thread)
		json_string(stdout, s->o.s.thread);
	else
		printf("null");
	printf("}\n");
	out_flush();
}

static int run_loop(struct state *s)
{
	const char *reason = stack_wait(&s->o.s, &s->run.t, &stop_signal,
					s->begin_ns);
	double secs;
	int rc = 0;

	run_detach(&s->run);
	/* the stacks were taken in the maps the process had */
	if (strncmp(reason, "target ", 7) == 0)
		stacks_keep_maps(s->stacks);
	secs = (double)(mono_ns() - s->begin_ns) / 1e9;
	if (collect(s) != 0)
		return 1;
	if (s->flame && fold(s) != 0)
		rc = 1;
	if (s->o.s.folded) {
		if (flame_write_folded(s->flame, stdout) != 0)
			rc = 1;
	} else if (s->o.s.json) {
		print_json(s);
	} else if (stack_rows_merge(&s->rows, s->stacks) != 0) {
		msg("out of memory");
		rc = 1;
	} else {
		print_text(s, secs);
	}
	summary(s, reason, secs);
	if (s->flame_out && write_page(s, reason) != 0)
		rc = 1;
	s->flame_out = NULL;
	return run_end(&s->run.t, reason) || rc;
}

static int setup(struct state *s)
{
	char buf[8][48];
	const char *cflags[8];
	int n = cflags_of(&s->o, buf, cflags);

	vmsg("stacks: fp (user registers at sched_switch are out of reach)");
	if (plan_tracepoint(&s->run.plan, "tracepoint__sched__sched_switch",
			    "sched", "sched_switch") != 0 ||
	    plan_tracepoint(&s->run.plan, "tracepoint__sched__sched_wakeup",
			    "sched", "sched_wakeup") != 0) {
		msg("out of memory");
		return -1;
	}
	if (run_load(&s->run, offcpu_bpf_text, cflags, n) != 0 ||
	    run_maps(&s->run, map_names, NMAPS, s->fds) != 0)
		return -1;
	s->stacks = stacks_new(s->fds[MAP_STACKS], s->run.t.pid);
	if (!s->stacks) {
		msg("out of memory");
		return -1;
	}
	stacks_prepare(s->stacks);
	if (run_attach(&s->run) != 0)
		return -1;
	s->begin_ns = mono_ns();
	return 0;
}

int main(int argc, char **argv)
{
	static struct state s;
	int rc = 1;

	prog_name = "ckb-offcpu";
	parse_opts(&s.o, argc, argv);
	if (s.o.s.ebpf) {
		print_ebpf(&s.o);
		return 0;
	}
	if (cli_privileged() != 0)
		return 1;
	cli_signals(on_signal, true);
	if ((s.o.s.folded || s.o.s.flame_path) && !(s.flame = flame_new())) {
		msg("out of memory");
		return 1;
	}
	if (stack_flame_open(&s.o.s, &s.flame_out) != 0) {
		flame_free(s.flame);
		return 1;
	}
	if (run_find_target(&s.run, &s.o.s.topt, true, NULL) == 0 &&
	    setup(&s) == 0) {
		announce(&s);
		rc = run_loop(&s);
	}
	run_close(&s.run);
	if (s.flame_out) {
		fclose(s.flame_out);
		unlink(s.o.s.flame_path);
	}
	stacks_free(s.stacks);
	stack_rows_free(&s.rows);
	flame_free(s.flame);
	return rc;
}
