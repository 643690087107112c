/* ckb-iolat: a node's file I/O syscalls by thread name or by file, from
 * syscall tracepoints. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../programs/hist.h"
#include "../programs/iolat.h"
#include "../src/agg.h"
#include "../src/bpfsys.h"
#include "../src/cli.h"
#include "../src/latency.h"
#include "../src/report.h"
#include "../src/run.h"
#include "../src/ticker.h"
#include "../src/util.h"
#include "iolat.bpf.inc"

static const char usage_text[] =
"USAGE: ckb-iolat [-p PID] [-F] [-s LIST] [-i SEC] [-d SEC] [-T] [-m|-u] [-j]\n"
"                 [-H] [-v] [--ebpf] [interval [count]]\n"
"\n"
"File I/O syscalls of a running node, timed from syscall entry to exit:\n"
"count, ops/s, avg, p50, p99, max and bytes per thread name and syscall\n"
"(or per file with -F), every interval.\n"
"\n"
"  -p, --pid PID        trace this process (default: the one process\n"
"                       named \"ckb\")\n"
"  -F, --files          one row per file and syscall instead of per\n"
"                       thread name and syscall\n"
"  -s, --syscalls LIST  only these syscalls, comma separated: fsync,\n"
"                       fdatasync,sync_file_range,pread64,pwrite64,preadv,\n"
"                       pwritev,preadv2,pwritev2,read,write,openat,close\n"
"  -i, --interval SEC   seconds between reports (default 1)\n"
"  -d, --duration SEC   stop after SEC seconds\n"
"  -T, --timestamp      print the wall-clock time above each report\n"
"  -m, --milliseconds   latencies in milliseconds\n"
"  -u, --microseconds   latencies in microseconds (the default)\n"
"  -j, --json           JSON lines (latencies always in nanoseconds)\n"
"  -H, --histogram      add a latency histogram per row\n"
"  -v, --verbose        show the tracepoints, file-name resolution and\n"
"                       compiler output\n"
"      --ebpf           print the BPF program and its parameters, and exit\n"
"  -h, --help           this text\n"
"\n"
"  interval [count]     as -i, and stop after count reports\n"
"\n"
"EXAMPLES:\n"
"  ckb-iolat -p $(pgrep -x ckb)             # every second, per thread\n"
"  ckb-iolat -p PID -F 5                    # per file (WAL, SST, ...)\n"
"  ckb-iolat -p PID -H -s fsync,fdatasync   # histograms of the syncs\n"
"\n"
"Exit status: 0 done (Ctrl-C and SIGTERM included), 1 runtime error or\n"
"the traced process exited, 2 bad usage.\n";

/* In IO_* order. */
static const char *const sys_names[IO_NSYS] = {
	"fsync", "fdatasync", "sync_file_range", "pread64", "pwrite64",
	"preadv", "pwritev", "preadv2", "pwritev2", "read", "write",
	"openat", "close",
};

struct opts {
	struct target_opts topt;
	bool files;
	uint32_t mask;
	struct cli_report r;
};

/* (fd, generation) -> file name, resolved once. */
struct name {
	uint32_t fd, gen;
	char *path;
};
#define NAME_SLOTS 4096

struct state {
	struct opts o;
	struct run run;
	struct agg *agg;
	int drops_fd, fdgen_fd, fdnames_fd;
	struct lat_table *table;
	struct name names[NAME_SLOTS];
	int nnames;
	struct lat_print print;
	bool oom;
	uint64_t intervals;
	uint64_t totals[IO_NSYS];
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int sys_by_name(const char *name)
{
	int i;

	for (i = 0; i < IO_NSYS; i++)
		if (strcasecmp(sys_names[i], name) == 0)
			return i;
	return -1;
}

static void parse_syscalls(struct opts *o, const char *list)
{
	char *copy = strdup(list), *tok, *save = NULL;
	int id;

	if (!copy)
		exit(1);
	o->mask = 0;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		id = sys_by_name(tok);
		if (id < 0)
			usage_fail("unknown syscall '%s'", tok);
		o->mask |= 1u << id;
	}
	free(copy);
	if (!o->mask)
		usage_fail("no syscall in '%s'", list);
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "files", no_argument, NULL, 'F' },
		{ "syscalls", required_argument, NULL, 's' },
		CLI_REPORT_LONGS,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	cli_report_init(&o->r);
	o->mask = (1u << IO_NSYS) - 1;
	while ((c = getopt_long(argc, argv, "p:Fs:i:d:TmujHvh", longs,
				NULL)) != -1) {
		if (cli_report_opt(&o->r, c, optarg, usage_text, "pFs"))
			continue;
		switch (c) {
		case 'p': o->topt.pid = cli_pid(optarg); break;
		case 'F': o->files = true; break;
		case 's': parse_syscalls(o, optarg); break;
		}
	}
	cli_report_args(&o->r, argc, argv);
}

static void cflags_of(const struct opts *o, char (*buf)[48],
		      const char **cflags)
{
	snprintf(buf[0], 48, "-DBY_FILE=%d", o->files);
	snprintf(buf[1], 48, "-DREPORT_MASK=%u", o->mask);
	cflags[0] = buf[0];
	cflags[1] = buf[1];
}

static void print_ebpf(const struct opts *o)
{
	char buf[2][48];
	const char *cflags[2];

	cflags_of(o, buf, cflags);
	printf("// cflags: %s %s\n", cflags[0], cflags[1]);
	fputs(iolat_bpf_text, stdout);
}

/* ---- the plan ---- */

static int plan_sys(struct run *r, const char *name)
{
	char prog[64], tp[40];
	int err = 0, k;

	for (k = 0; k < 2 && !err; k++) {
		snprintf(tp, sizeof(tp), "sys_%s_%s", k ? "exit" : "enter",
			 name);
		snprintf(prog, sizeof(prog), "tracepoint__syscalls__%s", tp);
		err = plan_tracepoint(&r->plan, prog, "syscalls", tp);
	}
	return err;
}

static int make_plan(struct state *s)
{
	uint32_t traced = s->o.mask;
	int i, err = 0;

	/* names come from openat; reuse is seen at close, dup2, dup3 */
	if (s->o.files)
		traced |= (1u << IO_OPENAT) | (1u << IO_CLOSE);
	for (i = 0; i < IO_NSYS && !err; i++)
		if (traced & (1u << i))
			err = plan_sys(&s->run, sys_names[i]);
	if (s->o.files && !err)
		err = plan_tracepoint(&s->run.plan,
				      "tracepoint__syscalls__sys_enter_dup2",
				      "syscalls", "sys_enter_dup2");
	if (s->o.files && !err)
		err = plan_tracepoint(&s->run.plan,
				      "tracepoint__syscalls__sys_enter_dup3",
				      "syscalls", "sys_enter_dup3");
	if (err)
		msg("cannot plan the tracepoints: %s", strerror(-err));
	return err;
}

/* ---- file names ---- */

static uint32_t gen_now(struct state *s, uint32_t fd)
{
	uint32_t g = 0;

	if (bpf_map_get(s->fdgen_fd, &fd, &g) != 0)
		g = 0;
	return g;
}

static struct name *name_slot(struct state *s, uint32_t fd, uint32_t gen)
{
	uint32_t h = (fd * 2654435761u) ^ (gen * 40503u), i;
	struct name *n;

	for (i = 0; i < NAME_SLOTS; i++) {
		n = &s->names[(h + i) % NAME_SLOTS];
		if (!n->path || (n->fd == fd && n->gen == gen))
			return n;
	}
	return NULL;
}

static void names_clear(struct state *s)
{
	int i;

	for (i = 0; i < NAME_SLOTS; i++) {
		free(s->names[i].path);
		s->names[i].path = NULL;
	}
	s->nnames = 0;
}

static const char *name_put(struct state *s, uint32_t fd, uint32_t gen,
			    const char *path)
{
	struct name *n;

	if (s->nnames >= NAME_SLOTS / 2)
		names_clear(s);
	n = name_slot(s, fd, gen);
	if (!n)
		return path;
	if (!n->path) {
		n->fd = fd;
		n->gen = gen;
		n->path = strdup(path);
		if (!n->path)
			return path;
		s->nnames++;
	}
	return n->path;
}

/* The file behind /proc/PID/fd/N now, if fd still has generation gen
 * before and after reading it. */
static bool name_live(struct state *s, uint32_t fd, uint32_t gen, char *buf,
		      size_t len)
{
	char link[64];
	ssize_t n;

	if (gen_now(s, fd) != gen)
		return false;
	snprintf(link, sizeof(link), "/proc/%d/fd/%u", s->run.t.pid, fd);
	n = readlink(link, buf, len - 1);
	if (n < 0 || gen_now(s, fd) != gen)
		return false;
	buf[n] = '\0';
	return true;
}

static const char *file_name(struct state *s, uint32_t fd, uint32_t gen,
			     int depth)
{
	struct io_fdkey k = { .fd = fd, .gen = gen };
	struct io_fdname fn;
	struct name *n;
	char buf[PATH_MAX + IO_PATH_LEN + 2], link[64];
	const char *dir;
	ssize_t len;

	if (fd == IO_NO_FD)
		return "(failed openat)";
	n = name_slot(s, fd, gen);
	if (n && n->path)
		return n->path;
	if (bpf_map_get(s->fdnames_fd, &k, &fn) == 0 && fn.path[0]) {
		fn.path[IO_PATH_LEN - 1] = '\0';
		if (fn.path[0] == '/')
			return name_put(s, fd, gen, fn.path);
		if (fn.dfd == -100 /* AT_FDCWD */) {
			snprintf(link, sizeof(link), "/proc/%d/cwd",
				 s->run.t.pid);
			len = readlink(link, buf, PATH_MAX);
			dir = len > 0 ? (buf[len] = '\0', buf) : ".";
			dir = strdup(dir);
		} else if (depth < 4) {
			dir = strdup(file_name(s, (uint32_t)fn.dfd,
					       gen_now(s, (uint32_t)fn.dfd),
					       depth + 1));
		} else {
			dir = strdup("?");
		}
		snprintf(buf, sizeof(buf), "%s/%s", dir ? dir : "?", fn.path);
		free((void *)dir);
		return name_put(s, fd, gen, buf);
	}
	if (name_live(s, fd, gen, buf, sizeof(buf)))
		return name_put(s, fd, gen, buf);
	snprintf(buf, sizeof(buf), "fd %u (closed before it could be named)",
		 fd);
	return name_put(s, fd, gen, buf);
}

/* The files open when tracing starts, named while they are open. */
static void name_open_fds(struct state *s)
{
	char dir[64], buf[PATH_MAX];
	struct dirent *de;
	uint32_t fd, gen;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", s->run.t.pid);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = (uint32_t)strtoul(de->d_name, NULL, 10);
		gen = gen_now(s, fd);
		if (name_live(s, fd, gen, buf, sizeof(buf))) {
			name_put(s, fd, gen, buf);
			vmsg("fd %u is %s", fd, buf);
		}
	}
	closedir(d);
}

/* ---- rows ---- */

static const struct lat_cols thread_cols = {
	2, { "THREAD", "SYSCALL" }, { -16, -15 }, { "thread", "syscall" },
};
static const struct lat_cols file_cols = {
	2, { "FILE", "SYSCALL" }, { -32, -15 }, { "file", "syscall" },
};

static void on_key(const void *key, const struct agg_stats *st,
		   const uint64_t *slot, void *arg)
{
	const struct io_key *k = key;
	struct state *s = arg;
	const char *labels[2];
	char comm[17];

	if (k->sys >= IO_NSYS)
		return;
	if (s->o.files) {
		labels[0] = file_name(s, k->fd, k->gen, 0);
	} else {
		memcpy(comm, k->comm, 16);
		comm[16] = '\0';
		labels[0] = comm;
	}
	labels[1] = sys_names[k->sys];
	s->totals[k->sys] += st->count;
	if (lat_table_add(s->table, labels, (int)k->sys, st, slot,
			  (IO_BYTES_MASK >> k->sys) & 1))
		s->oom = true;
}

static int report(void *arg, double secs)
{
	struct state *s = arg;
	int err = agg_collect(s->agg, on_key, s);

	if (!err && s->oom)
		err = -ENOMEM;
	if (err) {
		msg("cannot read BPF maps: %s", strerror(-err));
		return err;
	}
	lat_table_print(s->table, stdout, &s->print, secs);
	s->intervals++;
	return out_flush();
}

static void summary(void *arg, const char *reason)
{
	struct state *s = arg;
	uint64_t keys = 0, slots = 0, unsettled = 0, start = 0;
	uint32_t z = IO_DROP_START_FULL;
	bool first = true;
	struct run_skips skips;
	int i;

	run_skips_read(&s->run, &skips);
	agg_lost(s->agg, &keys, &slots, &unsettled);
	bpf_map_sum_u64(s->drops_fd, &z, &start);
	if (s->o.r.json) {
		printf("{\"type\":\"summary\",\"reason\":\"%s\",\"intervals\":"
		       "%llu,\"counts\":{", reason,
		       (unsigned long long)s->intervals);
		for (i = 0; i < IO_NSYS; i++) {
			if (!(s->o.mask & (1u << i)))
				continue;
			printf("%s\"%s\":%llu", first ? "" : ",", sys_names[i],
			       (unsigned long long)s->totals[i]);
			first = false;
		}
		printf("},\"lost_keys\":%llu,\"lost_buckets\":%llu,"
		       "\"lost_starts\":%llu", (unsigned long long)keys,
		       (unsigned long long)slots, (unsigned long long)start);
		run_skips_json(stdout, &skips);
		printf("}\n");
		fflush(stdout);
	}
	if (keys || slots || start)
		msg("%llu calls were not counted (a map was full), %llu not "
		    "put in a histogram, %llu not timed",
		    (unsigned long long)keys, (unsigned long long)slots,
		    (unsigned long long)start);
	run_skips_say(&skips);
	if (unsettled)
		vmsg("%llu intervals closed with a program still writing",
		     (unsigned long long)unsettled);
}

static void announce(const struct state *s)
{
	int i, n = 0;
	bool first = true;

	for (i = 0; i < IO_NSYS; i++)
		n += (s->o.mask >> i) & 1;
	fprintf(stderr, "Tracing %d file I/O syscalls (%d tracepoints) of PID "
		"%d (%s) by %s... Hit Ctrl-C to end.\n", n, s->run.ps.n,
		s->run.t.pid, s->run.t.exe_shown,
		s->o.files ? "file" : "thread");
	if (!s->o.r.json)
		return;
	printf("{\"type\":\"start\",\"pid\":%d,\"binary\":", s->run.t.pid);
	json_string(stdout, s->run.t.exe_shown);
	printf(",\"by\":\"%s\",\"syscalls\":[", s->o.files ? "file" : "thread");
	for (i = 0; i < IO_NSYS; i++) {
		if (!(s->o.mask & (1u << i)))
			continue;
		printf("%s\"%s\"", first ? "" : ",", sys_names[i]);
		first = false;
	}
	printf("]}\n");
	fflush(stdout);
}

static int run_loop(struct state *s)
{
	struct ticker tk;

	ticker_init(&tk, &s->o.r, report, s);
	return ticker_end(&tk, &s->run, ticker_run(&tk, &s->run.t,
						   &stop_signal),
			  summary, s);
}

static int setup(struct state *s)
{
	static const char *const maps[] = { "io_drops" };
	static const char *const file_maps[] = { "fdgen", "fdnames" };
	char buf[2][48];
	const char *cflags[2];
	int fds[2];

	cflags_of(&s->o, buf, cflags);
	s->table = lat_table_new(s->o.files ? &file_cols : &thread_cols);
	s->print = (struct lat_print){ .json = s->o.r.json, .hist = s->o.r.hist,
				       .timestamp = s->o.r.timestamp,
				       .div = s->o.r.div, .unit = s->o.r.unit,
				       .nothing = "no file I/O" };
	if (!s->table || make_plan(s) != 0 ||
	    run_load(&s->run, iolat_bpf_text, cflags, 2) != 0 ||
	    run_maps(&s->run, maps, 1, &s->drops_fd) != 0 ||
	    (s->o.files && run_maps(&s->run, file_maps, 2, fds) != 0) ||
	    agg_open(&s->agg, &s->run) != 0)
		return -1;
	if (s->o.files) {
		s->fdgen_fd = fds[0];
		s->fdnames_fd = fds[1];
	}
	if (run_attach(&s->run) != 0)
		return -1;
	if (s->o.files)
		name_open_fds(s);
	return 0;
}

int main(int argc, char **argv)
{
	static struct state s;
	int rc = 1;

	prog_name = "ckb-iolat";
	parse_opts(&s.o, argc, argv);
	if (s.o.r.ebpf) {
		print_ebpf(&s.o);
		return 0;
	}
	if (cli_privileged() != 0)
		return 1;
	cli_signals(on_signal, false);
	if (run_find_target(&s.run, &s.o.topt, true, NULL) == 0 &&
	    setup(&s) == 0) {
		announce(&s);
		rc = run_loop(&s);
	}
	run_close(&s.run);
	agg_free(s.agg);
	lat_table_free(s.table);
	names_clear(&s);
	return rc;
}
