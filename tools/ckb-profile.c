/* ckb-profile: where a node's threads run, from user and kernel stacks
 * sampled by cpu-clock perf events on every CPU. */
#include <errno.h>
#include <getopt.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../programs/profile.h"
#include "../src/bpfsys.h"
#include "../src/cli.h"
#include "../src/events.h"
#include "../src/flame.h"
#include "../src/report.h"
#include "../src/run.h"
#include "../src/stackrep.h"
#include "../src/stacks.h"
#include "../src/unwind.h"
#include "../src/util.h"
#include "profile.bpf.inc"

#define HZ_DEFAULT 49
#define HZ_MAX 10000
#define MAX_RATE_FILE "/proc/sys/kernel/perf_event_max_sample_rate"
#define DEFAULT_STACK_BYTES 8192
#define MAX_FRAMES 127
#define STACK_COPY_FAILED UNWIND_NEND	/* a status beyond unwind's */
#define NSTATUS (UNWIND_NEND + 1)

static const char usage_text[] =
"USAGE: ckb-profile [-p PID] [-F HZ] [-t GLOB] [-U | -K] [-f | -j]\n"
"                   [--flame FILE] [--stack MODE] [--stack-size BYTES]\n"
"                   [-n N] [--stack-storage-size N] [-d SEC] [-v] [--ebpf]\n"
"                   [duration]\n"
"\n"
"Where a process's threads run on CPU: user and kernel stacks sampled\n"
"HZ times a second on every CPU (the cpu-clock perf event, which VMs\n"
"without a PMU have too), counted per thread name, reported at the end.\n"
"Samples of other processes, of idle CPUs and without a stack are\n"
"counted as such.\n"
"\n"
"  -p, --pid PID        profile this process (default: the one process\n"
"                       named \"ckb\")\n"
"  -F, --frequency HZ   samples a second on each CPU (default 49, at\n"
"                       most 10000)\n"
"  -t, --thread GLOB    only threads whose name matches GLOB ('rocksdb:*')\n"
"  -U, --user-stacks-only    no kernel stacks\n"
"  -K, --kernel-stacks-only  no user stacks\n"
"  -f, --folded         folded stacks (samples) for flame graphs, instead\n"
"                       of the text report\n"
"  -j, --json           JSON lines instead of the text report\n"
"      --flame FILE     also write an interactive flame graph page (HTML)\n"
"      --stack MODE     how user stacks are walked: fp (frame pointers, in\n"
"                       the kernel), dwarf (a copy of the stack, unwound\n"
"                       here through .eh_frame; samples that hit the kernel\n"
"                       keep fp), auto (dwarf when the executable has CFI\n"
"                       and no frame pointers; the default)\n"
"      --stack-size BYTES  dwarf: bytes of stack copied per sample (8192)\n"
"  -n, --top N          functions and stacks in the text report (default\n"
"                       10, 0: all)\n"
"      --stack-storage-size N  distinct stacks kept at most (16384)\n"
"  -d, --duration SEC   profile for SEC seconds (as the positional)\n"
"  -v, --verbose        show the perf events, compiler output and every\n"
"                       counter\n"
"      --ebpf           print the BPF program and its parameters, and exit\n"
"  -h, --help           this text\n"
"\n"
"  duration             seconds to profile (default: until Ctrl-C)\n"
"\n"
"EXAMPLES:\n"
"  ckb-profile -p $(pgrep -x ckb) 10          # top functions and stacks\n"
"  ckb-profile -p PID -F 99 -f 30 > on.folded # folded, for flame graphs\n"
"  ckb-profile -p PID --flame on.html 30      # a flame graph page\n"
"  ckb-profile -p PID -t 'rocksdb:*' -U 10    # RocksDB threads, user code\n"
"  ckb-profile -p PID --stack dwarf 10        # a release build, no fp\n"
"\n"
"Exit status: 0 done (Ctrl-C and SIGTERM included), 1 runtime error or\n"
"the traced process exited, 2 bad usage.\n";

enum { MODE_AUTO, MODE_FP, MODE_DWARF };

struct opts {
	struct stack_opts s;
	uint64_t hz;
	int stack_mode;		/* MODE_* */
	uint64_t stack_bytes;
};

/* DWARF: rows of samples unwound here, by thread name, stack and end. */
struct urow {
	char comm[17];
	uint64_t ustack;	/* stacks_put() key, or STACK_NONE/_FULL */
	int status;		/* UNWIND_*, STACK_COPY_FAILED */
	uint64_t count;
};

enum { MAP_ROWS, MAP_STACKS, MAP_COUNTS, MAP_STACK_COUNTS, NMAPS };
static const char *const map_names[] = { "prof_rows", "stack_ips",
					 "prof_counts", "stack_counts" };

struct state {
	struct opts o;
	struct run run;
	int fds[NMAPS];
	struct stacks *stacks;
	struct stack_rows rows;
	struct flame *flame;
	FILE *flame_out;
	uint64_t counts[PROFC_COUNT];
	struct stack_counts sc;
	uint64_t begin_ns;
	int method;		/* PROF_STACK_FP or _DWARF */
	uint64_t pages;		/* DWARF: ring buffer pages */
	struct unwinder *unw;
	struct event_reader *rd;
	struct urow *urows;
	uint32_t nurows, urcap;
	uint32_t *uindex;	/* 1 + index into urows, open addressing */
	uint32_t uicap;
	uint64_t received, unrowed, frames_total;
	uint64_t status[NSTATUS];
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "frequency", required_argument, NULL, 'F' },
		{ "stack", required_argument, NULL, 'S' },
		{ "stack-size", required_argument, NULL, 'Z' },
		STACK_LONGS,
		{ NULL, 0, NULL, 0 },
	};
	bool size_given = false;
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	stack_opts_init(&o->s);
	o->hz = HZ_DEFAULT;
	o->stack_bytes = DEFAULT_STACK_BYTES;
	while ((c = getopt_long(argc, argv, STACK_SHORTS "F:", longs,
				NULL)) != -1) {
		if (stack_opt(&o->s, c, optarg, usage_text, "FSZ"))
			continue;
		switch (c) {
		case 'F':
			if (parse_u64(optarg, 1, HZ_MAX, &o->hz) != 0)
				usage_fail("bad frequency '%s': want 1 to %d "
					   "samples a second (49 or 99 are "
					   "usual)", optarg, HZ_MAX);
			break;
		case 'S':
			if (strcmp(optarg, "auto") == 0)
				o->stack_mode = MODE_AUTO;
			else if (strcmp(optarg, "fp") == 0)
				o->stack_mode = MODE_FP;
			else if (strcmp(optarg, "dwarf") == 0)
				o->stack_mode = MODE_DWARF;
			else
				usage_fail("bad --stack '%s': want fp, dwarf or "
					   "auto", optarg);
			break;
		case 'Z':
			if (parse_u64(optarg, 512, 32768, &v) != 0 || v % 8)
				usage_fail("bad --stack-size '%s': want bytes "
					   "from 512 to 32768, a multiple of 8",
					   optarg);
			o->stack_bytes = v;
			size_given = true;
			break;
		}
	}
	stack_opts_args(&o->s, argc, argv);
	if (size_given && (o->stack_mode == MODE_FP || o->s.kernel_only))
		usage_fail("--stack-size is for dwarf stacks; drop it, or "
			   "use --stack dwarf");
	if (o->stack_mode == MODE_DWARF && o->s.kernel_only)
		usage_fail("--stack dwarf walks user stacks, which -K leaves "
			   "out");
}

/* The kernel's own limit on sampling rates (it lowers it when sampling
 * takes too long): 0, or 1 after saying so. */
static int check_rate(uint64_t hz)
{
	char buf[32];
	uint64_t max;

	if (read_small_file(MAX_RATE_FILE, buf, sizeof(buf)) <= 0)
		return 0;
	buf[strcspn(buf, "\n")] = '\0';
	if (parse_u64(buf, 0, UINT64_MAX, &max) != 0 || hz <= max)
		return 0;
	msg("-F %llu is above this kernel's limit of %llu samples a second "
	    "(kernel.perf_event_max_sample_rate); try -F 99",
	    (unsigned long long)hz, (unsigned long long)max);
	return 1;
}

/* The ring buffer of DWARF samples: a quarter second of samples of
 * every CPU, in pages, a power of two from 64 to 16384. */
static uint64_t buffer_pages(const struct opts *o)
{
	int ncpu = bpf_ncpus();
	uint64_t bytes = o->hz * (uint64_t)(ncpu > 0 ? ncpu : 1) *
			 (sizeof(struct prof_sample) + o->stack_bytes + 16) / 4;
	uint64_t pages = 64;

	while (pages < 16384 && pages * 4096 < bytes)
		pages *= 2;
	return pages;
}

static int cflags_of(const struct opts *o, int method, char (*buf)[48],
		     const char **cflags)
{
	int n = stack_cflags(&o->s, buf, cflags);

	snprintf(buf[n], 48, "-DSTACK_MODE=%d", method);
	cflags[n] = buf[n];
	n++;
	/* only DWARF's text uses these: fp builds stay one cache entry */
	if (method != PROF_STACK_DWARF)
		return n;
	snprintf(buf[n], 48, "-DSTACK_BYTES=%llu",
		 (unsigned long long)o->stack_bytes);
	cflags[n] = buf[n];
	n++;
	snprintf(buf[n], 48, "-DBUFFER_PAGES=%llu",
		 (unsigned long long)buffer_pages(o));
	cflags[n] = buf[n];
	return n + 1;
}

static void print_ebpf(const struct opts *o)
{
	char buf[8][48];
	const char *cflags[8];
	int method = o->stack_mode == MODE_DWARF ? PROF_STACK_DWARF
						 : PROF_STACK_FP;
	int i, n = cflags_of(o, method, buf, cflags);

	printf("// cflags:");
	for (i = 0; i < n; i++)
		printf(" %s", cflags[i]);
	if (o->stack_mode == MODE_AUTO && !o->s.kernel_only)
		printf(" (STACK_MODE: 1 fp or 2 dwarf, as --stack auto "
		       "decides for the target)");
	printf("\n// perf event: cpu-clock, %llu Hz, every CPU\n",
	       (unsigned long long)o->hz);
	fputs(profile_bpf_text, stdout);
}

/* --stack auto: DWARF when the executable has CFI and its own code keeps
 * no frame pointers.  Says which under -v. */
static void choose_stack(struct state *s)
{
	struct unwind_elf_info info;
	const char *exe = s->run.t.exe;

	if (s->o.stack_mode != MODE_AUTO || s->o.s.kernel_only) {
		s->method = s->o.stack_mode == MODE_DWARF ? PROF_STACK_DWARF
							  : PROF_STACK_FP;
		vmsg("stacks: %s (--stack%s)",
		     s->method == PROF_STACK_FP ? "fp" : "dwarf",
		     s->o.s.kernel_only ? "; -K" : "");
		return;
	}
	if (unwind_elf_info(exe, &info) != 0) {
		s->method = PROF_STACK_FP;
		vmsg("stacks: fp (auto: cannot read %s)", exe);
		return;
	}
	s->method = unwind_elf_wants_dwarf(&info) ? PROF_STACK_DWARF
						  : PROF_STACK_FP;
	vmsg("stacks: %s (auto: %s has %s; %d of %d functions checked keep a "
	     "frame pointer)", s->method == PROF_STACK_FP ? "fp" : "dwarf",
	     s->run.t.exe_shown,
	     info.has_eh_frame ? ".eh_frame" :
	     info.has_debug_frame ? ".debug_frame" : "no CFI",
	     info.with_fp, info.checked);
}

static const char *method_name(const struct state *s)
{
	return s->method == PROF_STACK_DWARF ? "dwarf" : "fp";
}

static const char *status_name(int st)
{
	return st == STACK_COPY_FAILED ? "copy_failed" : unwind_end_name(st);
}

/* ---- DWARF samples, unwound as they come ---- */

static uint32_t urow_hash(const char *comm, uint64_t id, int status)
{
	uint32_t h = 2166136261u;
	int i;

	for (i = 0; i < 16 && comm[i]; i++)
		h = (h ^ (unsigned char)comm[i]) * 16777619u;
	h = (h ^ (uint32_t)(id ^ (id >> 32))) * 16777619u;
	return (h ^ (uint32_t)status) * 16777619u;
}

static int urow_grow(struct state *s)
{
	uint32_t cap = s->uicap ? s->uicap * 2 : 256, i, j, *n;
	struct urow *r;

	n = calloc(cap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (i = 0; i < s->nurows; i++) {
		r = &s->urows[i];
		for (j = urow_hash(r->comm, r->ustack, r->status) & (cap - 1);
		     n[j]; j = (j + 1) & (cap - 1))
			;
		n[j] = i + 1;
	}
	free(s->uindex);
	s->uindex = n;
	s->uicap = cap;
	return 0;
}

static int urow_add(struct state *s, const char *comm, uint64_t id,
		    int status)
{
	uint32_t j, k;
	struct urow *r;

	if ((s->nurows + 1) * 2 > s->uicap && urow_grow(s) != 0)
		return -ENOMEM;
	for (j = urow_hash(comm, id, status) & (s->uicap - 1);
	     (k = s->uindex[j]); j = (j + 1) & (s->uicap - 1)) {
		r = &s->urows[k - 1];
		if (r->ustack == id && r->status == status &&
		    strcmp(r->comm, comm) == 0) {
			r->count++;
			return 0;
		}
	}
	if (s->nurows == s->urcap) {
		uint32_t cap = s->urcap ? s->urcap * 2 : 256;

		r = realloc(s->urows, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		s->urows = r;
		s->urcap = cap;
	}
	r = &s->urows[s->nurows];
	snprintf(r->comm, sizeof(r->comm), "%s", comm);
	r->ustack = id;
	r->status = status;
	r->count = 1;
	s->uindex[j] = ++s->nurows;
	return 0;
}

static int on_sample(const void *data, size_t len, void *arg)
{
	struct unwind_frame frames[MAX_FRAMES];
	uint64_t ips[MAX_FRAMES];
	enum unwind_end end = UNWIND_OK;
	struct state *s = arg;
	struct prof_sample e;
	char comm[17];
	uint64_t id = STACK_NONE;
	int n = 0, i, status;

	if (len < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	if (e.stack_len > s->o.stack_bytes ||
	    e.stack_len > len - sizeof(e))
		e.stack_len = 0;
	s->received++;
	snprintf(comm, sizeof(comm), "%.16s", e.comm);
	if (e.copy_err < 0) {
		status = STACK_COPY_FAILED;
	} else {
		n = unwind_stack(s->unw, s->run.t.pid, (pid_t)e.tid,
				 (const uint64_t *)e.regs,
				 (const uint8_t *)data + sizeof(e), e.stack_len,
				 0, frames, MAX_FRAMES, &end);
		status = n < 0 ? UNWIND_BAD : (int)end;
	}
	for (i = 0; i < n; i++)
		ips[i] = frames[i].pc;
	s->status[status]++;
	if (n > 0) {
		s->frames_total += (uint64_t)n;
		if (stacks_put(s->stacks, ips, n, &id) != 0)
			id = STACK_FULL;
	}
	if (urow_add(s, comm, id, status) != 0)
		s->unrowed++;
	return 0;
}

static int open_reader(struct state *s)
{
	static const char *const name[] = { "prof_events" };
	int fd, err;

	if (s->method != PROF_STACK_DWARF || s->o.s.kernel_only)
		return 0;
	s->unw = unwinder_new(0);
	if (!s->unw) {
		msg("out of memory");
		return -ENOMEM;
	}
	if (run_maps(&s->run, name, 1, &fd) != 0)
		return -ENOENT;
	err = events_open_ringbuf(&s->rd, fd, on_sample, s);
	if (err)
		msg("cannot open the sample buffer: %s", strerror(-err));
	else
		unwind_prepare(s->unw, s->run.t.pid);
	return err;
}

/* The tracing loop with DWARF samples: read them as they come (their
 * libraries may be unmapped later), until a signal, the duration or the
 * target's exit. */
static const char *read_samples(struct state *s)
{
	uint64_t checked = mono_ns(), now;
	const char *reason;
	int n;

	for (;;) {
		n = events_poll(s->rd, 100);
		if (n < 0 && n != -EINTR) {
			msg("reading samples: %s", strerror(-n));
			return "error";
		}
		if (stop_signal)
			return "signal";
		now = mono_ns();
		reason = run_over(&s->run.t, s->begin_ns, s->o.s.duration);
		/* a closed pipe ends the run after its first second, not in
		 * the moment the programs are attached */
		if (reason && (strcmp(reason, "output closed") != 0 ||
			       now - s->begin_ns >= 1000000000ull))
			return reason;
		/* once a second: did the JSON start line reach its place? */
		if (now - checked >= 1000000000ull) {
			checked = now;
			if (out_flush() != 0)
				return "output";
		}
	}
}

/* ---- reading the maps ---- */

static int on_row(const void *key, const void *value, void *arg)
{
	const struct prof_key *k = key;
	const uint64_t *n = value;
	struct state *s = arg;
	struct stack_row row = { .ustack = k->ustack, .kstack = k->kstack,
				 .count = *n, .value = *n };

	if (k->fp_in_kernel)
		row.method = "fp";

	memcpy(row.thread, k->comm, sizeof(k->comm));
	row.thread[16] = '\0';
	return stack_rows_add(&s->rows, &row, s->o.s.thread);
}

static int collect(struct state *s)
{
	int err = bpf_map_dump(s->fds[MAP_ROWS], on_row, s);
	uint32_t i;

	for (i = 0; !err && i < s->nurows; i++) {
		const struct urow *u = &s->urows[i];
		struct stack_row row = {
			.ustack = u->ustack, .kstack = STACK_NONE,
			.count = u->count, .value = u->count,
			.method = "dwarf",
			.end = u->status == UNWIND_OK ? NULL
						      : status_name(u->status),
		};

		snprintf(row.thread, sizeof(row.thread), "%s", u->comm);
		err = stack_rows_add(&s->rows, &row, s->o.s.thread);
	}
	if (!err) {
		stack_rows_sort(&s->rows);
		err = stack_rows_resolve(&s->rows, s->stacks);
	}
	if (err)
		msg("cannot read the BPF maps: %s", strerror(-err));
	for (i = 0; i < PROFC_COUNT; i++)
		if (bpf_map_sum_u64(s->fds[MAP_COUNTS], &i, &s->counts[i]) != 0)
			s->counts[i] = 0;
	if (stack_counts_read(s->fds[MAP_STACK_COUNTS], &s->sc) != 0)
		memset(&s->sc, 0, sizeof(s->sc));
	return err;
}

/* ---- output ---- */

struct fn_count {
	char name[300];
	uint64_t n;
};

/* The function a sample was in: the innermost kernel frame, else the
 * innermost user frame. */
static void leaf_of(const struct state *s, const struct stack_row *r,
		    char *buf, size_t len)
{
	struct sstack k = stacks_get(s->stacks, r->kstack, true);
	struct sstack u = stacks_get(s->stacks, r->ustack, false);

	if (k.n)
		flame_frame_kernel(buf, len, k.f[0].fn);
	else if (u.n)
		flame_frame_user(buf, len, u.f[0].fn, u.f[0].mod);
	else
		snprintf(buf, len, "[no stack: %s]", u.why ? u.why : "?");
}

static int fn_by_name(const void *a, const void *b)
{
	return strcmp(((const struct fn_count *)a)->name,
		      ((const struct fn_count *)b)->name);
}

static int fn_by_count(const void *a, const void *b)
{
	const struct fn_count *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void print_functions(const struct state *s, uint64_t total)
{
	struct fn_count *f = calloc(s->rows.n + 1, sizeof(*f));
	size_t i, n = 0, shown;

	if (!f)
		return;
	for (i = 0; i < s->rows.n; i++) {
		leaf_of(s, &s->rows.v[i], f[i].name, sizeof(f[i].name));
		f[i].n = s->rows.v[i].count;
	}
	qsort(f, s->rows.n, sizeof(*f), fn_by_name);
	for (i = 0; i < s->rows.n; i++) {
		if (n && strcmp(f[n - 1].name, f[i].name) == 0)
			f[n - 1].n += f[i].n;
		else
			f[n++] = f[i];
	}
	qsort(f, n, sizeof(*f), fn_by_count);
	shown = s->o.s.top && s->o.s.top < n ? s->o.s.top : n;
	printf("\n%8s %6s  %s\n", "SAMPLES", "PCT", "FUNCTION");
	for (i = 0; i < shown; i++)
		printf("%8llu %5.1f%%  %s\n", (unsigned long long)f[i].n,
		       total ? 100.0 * (double)f[i].n / (double)total : 0.0,
		       f[i].name);
	free(f);
}

static void print_text(struct state *s, double secs)
{
	uint64_t total = stack_rows_total(&s->rows);
	size_t i, shown;

	printf("On-CPU samples of PID %d (%s) at %llu Hz over %.1f s: %llu "
	       "samples, %zu stacks%s%s%s\n", s->run.t.pid, s->run.t.exe_shown,
	       (unsigned long long)s->o.hz, secs, (unsigned long long)total,
	       s->rows.n, s->o.s.thread ? ", threads '" : "",
	       s->o.s.thread ? s->o.s.thread : "", s->o.s.thread ? "'" : "");
	if (!s->rows.n)
		return;
	print_functions(s, total);
	shown = s->o.s.top && s->o.s.top < s->rows.n ? s->o.s.top : s->rows.n;
	for (i = 0; i < shown; i++) {
		const struct stack_row *r = &s->rows.v[i];
		struct sstack u = stacks_get(s->stacks, r->ustack, false);
		struct sstack k = stacks_get(s->stacks, r->kstack, true);

		printf("\n#%zu %s: %llu samples (%.1f%%)\n", i + 1, r->thread,
		       (unsigned long long)r->count,
		       total ? 100.0 * (double)r->count / (double)total : 0.0);
		stacks_print(stdout, &k, 4, false);
		if (stacks_shown(&k) && stacks_shown(&u))
			printf("    --\n");
		stacks_print(stdout, &u, 4, false);
		if (r->end)
			printf("    [user stack ended early: %s]\n", r->end);
		else if (r->method && strcmp(r->method, "fp") == 0)
			printf("    [user stack by frame pointers: the sample "
			       "hit the kernel]\n");
	}
}

static void print_json(struct state *s)
{
	size_t i;

	for (i = 0; i < s->rows.n; i++) {
		const struct stack_row *r = &s->rows.v[i];

		printf("{\"type\":\"stack\",\"thread\":");
		json_string(stdout, r->thread);
		printf(",\"samples\":%llu", (unsigned long long)r->count);
		stack_rows_json(stdout, r, s->stacks);
		printf("}\n");
	}
}

static int write_page(struct state *s, const char *reason)
{
	char title[PATH_MAX + 64], note[200], when[32];
	time_t now = time(NULL);
	struct tm tm;

	snprintf(title, sizeof(title), "On-CPU samples of PID %d (%s)",
		 s->run.t.pid, s->run.t.exe_shown);
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(note, sizeof(note), "ckb-profile at %llu Hz: %llu samples of "
		 "the process%s%s%s; ended %s (%s)",
		 (unsigned long long)s->o.hz,
		 (unsigned long long)s->counts[PROFC_OURS],
		 s->o.s.thread ? ", threads '" : "",
		 s->o.s.thread ? s->o.s.thread : "", s->o.s.thread ? "'" : "",
		 when, reason);
	return stack_flame_write(&s->o.s, s->flame_out, s->flame, title,
				 "samples", note);
}

/* "stacks (dwarf): 98 complete, 2 truncated" */
static void stack_summary(const struct state *s)
{
	char line[1024];
	size_t used;
	int i;

	if (s->method != PROF_STACK_DWARF || s->o.s.kernel_only)
		return;
	used = (size_t)snprintf(line, sizeof(line), "stacks (dwarf): %llu "
				"samples in user mode unwound, %llu complete",
				(unsigned long long)s->received,
				(unsigned long long)s->status[UNWIND_OK]);
	for (i = 1; i < NSTATUS && used < sizeof(line); i++)
		if (s->status[i])
			used += (size_t)snprintf(line + used,
						 sizeof(line) - used,
						 ", %llu %s",
						 (unsigned long long)s->status[i],
						 status_name(i));
	used += (size_t)snprintf(line + used, sizeof(line) - used,
				 "; %llu in the kernel, walked by frame "
				 "pointers",
				 (unsigned long long)s->counts[PROFC_FP_IN_KERNEL]);
	msg("%s", line);
	if (s->status[UNWIND_TRUNCATED])
		msg("%llu stacks were deeper than the %llu bytes copied; raise "
		    "--stack-size", (unsigned long long)s->status[UNWIND_TRUNCATED],
		    (unsigned long long)s->o.stack_bytes);
	if (s->counts[PROFC_LOST])
		msg("%llu samples lost: the sample buffer was full",
		    (unsigned long long)s->counts[PROFC_LOST]);
	if (s->unrowed)
		msg("%llu samples not counted: out of memory",
		    (unsigned long long)s->unrowed);
}

/* Samples of the process in user mode: they have no kernel stack. */
static uint64_t user_mode(const struct state *s)
{
	return s->counts[PROFC_USER_MODE] + s->sc.v[STACKC_KERNEL_NONE];
}

static void summary(struct state *s, const char *reason, double secs)
{
	const uint64_t *c = s->counts, *k = s->sc.v;

	if (s->o.s.json) {
		printf("{\"type\":\"summary\",\"reason\":\"%s\",\"seconds\":"
		       "%.3f,\"hz\":%llu,\"samples\":%llu,\"ours\":%llu,"
		       "\"idle\":%llu,\"other\":%llu,\"filtered\":%llu,"
		       "\"lost_rows\":%llu,\"no_user_stack\":%llu,"
		       "\"user_mode\":%llu,\"stack_method\":\"%s\","
		       "\"dwarf\":{\"sent\":%llu,\"lost\":%llu,"
		       "\"complete\":%llu,\"in_kernel\":%llu}",
		       reason, secs, (unsigned long long)s->o.hz,
		       (unsigned long long)c[PROFC_SAMPLES],
		       (unsigned long long)c[PROFC_OURS],
		       (unsigned long long)c[PROFC_IDLE],
		       (unsigned long long)c[PROFC_OTHER],
		       (unsigned long long)s->rows.filtered_value,
		       (unsigned long long)c[PROFC_KEYS_FULL],
		       (unsigned long long)k[STACKC_USER_NONE],
		       (unsigned long long)user_mode(s),
		       method_name(s), (unsigned long long)c[PROFC_SENT],
		       (unsigned long long)c[PROFC_LOST],
		       (unsigned long long)s->status[UNWIND_OK],
		       (unsigned long long)c[PROFC_FP_IN_KERNEL]);
		stack_counts_json(stdout, &s->sc);
		printf("}\n");
	}
	out_flush();
	msg("%llu samples: %llu of PID %d (%llu without a user stack), %llu "
	    "idle, %llu of other processes",
	    (unsigned long long)c[PROFC_SAMPLES],
	    (unsigned long long)c[PROFC_OURS], s->run.t.pid,
	    (unsigned long long)k[STACKC_USER_NONE],
	    (unsigned long long)c[PROFC_IDLE],
	    (unsigned long long)c[PROFC_OTHER]);
	vmsg("%llu stacks kept, %llu user and %llu kernel ones not (the stack "
	     "map was full); %llu samples in user mode (no kernel stack)",
	     (unsigned long long)k[STACKC_KEPT],
	     (unsigned long long)k[STACKC_USER_FULL],
	     (unsigned long long)k[STACKC_KERNEL_FULL],
	     (unsigned long long)user_mode(s));
	stack_counts_say(&s->sc, s->o.s.stack_entries);
	if (c[PROFC_KEYS_FULL])
		msg("%llu samples not counted: the rows map was full",
		    (unsigned long long)c[PROFC_KEYS_FULL]);
	stack_summary(s);
}

static void announce(const struct state *s)
{
	fprintf(stderr, "Tracing on-CPU stacks of PID %d (%s) at %llu Hz on "
		"%d CPUs%s%s%s... Hit Ctrl-C to end.\n", s->run.t.pid,
		s->run.t.exe_shown, (unsigned long long)s->o.hz, s->run.ps.n,
		s->o.s.thread ? ", threads '" : "",
		s->o.s.thread ? s->o.s.thread : "", s->o.s.thread ? "'" : "");
	if (!s->o.s.json)
		return;
	printf("{\"type\":\"start\",\"pid\":%d,\"binary\":", s->run.t.pid);
	json_string(stdout, s->run.t.exe_shown);
	printf(",\"hz\":%llu,\"cpus\":%d,\"stack_method\":\"%s\","
	       "\"stack_bytes\":%llu,\"thread\":",
	       (unsigned long long)s->o.hz, s->run.ps.n, method_name(s),
	       (unsigned long long)(s->method == PROF_STACK_DWARF ?
				    s->o.stack_bytes : 0));
	if (s->o.s.thread)
		json_string(stdout, s->o.s.thread);
	else
		printf("null");
	printf("}\n");
	out_flush();
}

static int run_loop(struct state *s)
{
	const char *reason = s->rd ? read_samples(s) :
			     stack_wait(&s->o.s, &s->run.t, &stop_signal,
					s->begin_ns);
	double secs;
	int rc = strcmp(reason, "error") == 0, err;

	run_detach(&s->run);
	/* the stacks were taken in the maps the process had */
	if (strncmp(reason, "target ", 7) == 0)
		stacks_keep_maps(s->stacks);
	if (s->rd)
		events_drain(s->rd);
	secs = (double)(mono_ns() - s->begin_ns) / 1e9;
	if (collect(s) != 0)
		return 1;
	if (s->flame) {
		err = stack_rows_fold(&s->rows, s->stacks, s->flame, NULL);
		if (err) {
			msg("cannot fold the stacks: %s", strerror(-err));
			rc = 1;
		}
	}
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
	int n;

	choose_stack(s);
	n = cflags_of(&s->o, s->method, buf, cflags);
	if (plan_perf(&s->run.plan, "profile_sample", PERF_TYPE_SOFTWARE,
		      PERF_COUNT_SW_CPU_CLOCK, s->o.hz) != 0) {
		msg("out of memory");
		return -1;
	}
	if (run_load(&s->run, profile_bpf_text, cflags, n) != 0 ||
	    run_maps(&s->run, map_names, NMAPS, s->fds) != 0)
		return -1;
	s->stacks = stacks_new(s->fds[MAP_STACKS], s->run.t.pid);
	if (!s->stacks) {
		msg("out of memory");
		return -1;
	}
	if (open_reader(s) != 0)
		return -1;
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

	prog_name = "ckb-profile";
	parse_opts(&s.o, argc, argv);
	if (s.o.s.ebpf) {
		print_ebpf(&s.o);
		return 0;
	}
	if (cli_privileged() != 0 || check_rate(s.o.hz) != 0)
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
	events_close(s.rd);
	unwinder_free(s.unw);
	stacks_free(s.stacks);
	stack_rows_free(&s.rows);
	flame_free(s.flame);
	free(s.urows);
	free(s.uindex);
	return rc;
}
