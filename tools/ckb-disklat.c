/* ckb-disklat: block device latency per device and RWBS class, from the
 * block request tracepoints. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../programs/disklat.h"
#include "../src/agg.h"
#include "../src/bpfsys.h"
#include "../src/cli.h"
#include "../src/latency.h"
#include "../src/report.h"
#include "../src/run.h"
#include "../src/ticker.h"
#include "../src/util.h"
#include "disklat.bpf.inc"

static const char usage_text[] =
"USAGE: ckb-disklat [-d DEVICE] [-p PID] [-Q] [-c] [-i SEC] [--duration SEC]\n"
"                   [-T] [-m|-u] [-j] [-H] [-v] [--ebpf] [interval [count]]\n"
"\n"
"Block device I/O of the whole system, every interval, per device and\n"
"RWBS class (R read, W write, WS sync write, F... flush, D discard, M\n"
"metadata, ...): count, ops/s, avg, p50, p99, max of the device time\n"
"(issue to completion), and bytes.\n"
"\n"
"  -d, --device NAME    only this block device (vda, /dev/nvme0n1, loop3)\n"
"  -p, --pid PID        only requests this process inserted or issued\n"
"                       (its buffered writes are written back by kernel\n"
"                       threads: they are not counted)\n"
"  -Q, --queue          also the queue time (insert to issue), in rows of\n"
"                       their own\n"
"  -c, --comm           one row per issuing task name too\n"
"  -i, --interval SEC   seconds between reports (default 1)\n"
"      --duration SEC   stop after SEC seconds\n"
"  -T, --timestamp      print the wall-clock time above each report\n"
"  -m, --milliseconds   latencies in milliseconds\n"
"  -u, --microseconds   latencies in microseconds (the default)\n"
"  -j, --json           JSON lines (latencies always in nanoseconds)\n"
"  -H, --histogram      add a latency histogram per row\n"
"  -v, --verbose        show the tracepoints and compiler output\n"
"      --ebpf           print the BPF program and its parameters, and exit\n"
"  -h, --help           this text\n"
"\n"
"  interval [count]     as -i, and stop after count reports\n"
"\n"
"EXAMPLES:\n"
"  ckb-disklat                    # every device and class, every second\n"
"  ckb-disklat -d vda -Q -H 5     # queue time apart, histograms, 5 s\n"
"  ckb-disklat -c -j              # per issuing task, JSON lines\n"
"\n"
"Exit status: 0 done (Ctrl-C and SIGTERM included), 1 runtime error or\n"
"the traced process exited, 2 bad usage.\n";

struct opts {
	struct target_opts topt;
	const char *device;
	uint32_t dev;		/* kernel dev_t of -d */
	bool queue, comm;
	struct cli_report r;
};

/* Kernel dev_t -> device name, resolved once each. */
struct devname {
	uint32_t dev;
	char name[32];
};

struct state {
	struct opts o;
	struct run run;
	struct agg *agg;
	int drops_fd, inflight_fd;
	struct lat_table *table;
	struct lat_print print;
	struct devname devs[64];
	int ndevs;
	bool oom;
	uint64_t intervals, requests;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

#define KDEV(major, minor) (((uint32_t)(major) << 20) | (uint32_t)(minor))

/* -d NAME: its kernel dev_t from /sys/class/block/NAME/dev. */
static uint32_t device_of(const char *arg)
{
	const char *name = strncmp(arg, "/dev/", 5) == 0 ? arg + 5 : arg;
	char path[128], buf[32];
	unsigned major, minor;

	if (!*name || strchr(name, '/') || strlen(name) > 64)
		usage_fail("bad device '%s': want a block device name such as "
			   "vda", arg);
	snprintf(path, sizeof(path), "/sys/class/block/%s/dev", name);
	if (read_small_file(path, buf, sizeof(buf)) <= 0 ||
	    sscanf(buf, "%u:%u", &major, &minor) != 2)
		usage_fail("no block device '%s'; lsblk lists them", arg);
	return KDEV(major, minor);
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "pid", required_argument, NULL, 'p' },
		{ "queue", no_argument, NULL, 'Q' },
		{ "comm", no_argument, NULL, 'c' },
		CLI_REPORT_LONGS,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	cli_report_init(&o->r);
	while ((c = getopt_long(argc, argv, "d:p:Qci:TmujHvh", longs,
				NULL)) != -1) {
		if (cli_report_opt(&o->r, c, optarg, usage_text, "dpQc"))
			continue;
		switch (c) {
		case 'd': o->device = optarg; break;
		case 'p': o->topt.pid = cli_pid(optarg); break;
		case 'Q': o->queue = true; break;
		case 'c': o->comm = true; break;
		}
	}
	cli_report_args(&o->r, argc, argv);
	if (o->device && !o->r.ebpf)
		o->dev = device_of(o->device);
}

static void cflags_of(const struct opts *o, char (*buf)[48],
		      const char **cflags)
{
	snprintf(buf[0], 48, "-DDEV=%u", o->dev);
	snprintf(buf[1], 48, "-DQUEUE=%d", o->queue);
	snprintf(buf[2], 48, "-DBY_COMM=%d", o->comm);
	cflags[0] = buf[0];
	cflags[1] = buf[1];
	cflags[2] = buf[2];
}

static void print_ebpf(const struct opts *o)
{
	char buf[3][48];
	const char *cflags[3];

	cflags_of(o, buf, cflags);
	printf("// cflags: %s %s %s\n", cflags[0], cflags[1], cflags[2]);
	fputs(disklat_bpf_text, stdout);
}

static const char *dev_name(struct state *s, uint32_t dev)
{
	char path[96], buf[512], *p;
	struct devname *d;
	int i;

	for (i = 0; i < s->ndevs; i++)
		if (s->devs[i].dev == dev)
			return s->devs[i].name;
	d = &s->devs[s->ndevs < 64 ? s->ndevs++ : 63];
	d->dev = dev;
	snprintf(d->name, sizeof(d->name), "%u:%u", dev >> 20, dev & 0xfffff);
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", dev >> 20,
		 dev & 0xfffff);
	if (read_small_file(path, buf, sizeof(buf)) > 0 &&
	    (p = strstr(buf, "DEVNAME="))) {
		p += 8;
		p[strcspn(p, "\n")] = '\0';
		snprintf(d->name, sizeof(d->name), "%s", p);
	}
	return d->name;
}

static const struct lat_cols cols_plain = {
	2, { "DEVICE", "RWBS" }, { -10, -5 }, { "device", "rwbs" },
};
static const struct lat_cols cols_queue = {
	3, { "DEVICE", "RWBS", "TIME" }, { -10, -5, -6 },
	{ "device", "rwbs", "time" },
};
static const struct lat_cols cols_comm = {
	3, { "DEVICE", "RWBS", "COMM" }, { -10, -5, -16 },
	{ "device", "rwbs", "comm" },
};
static const struct lat_cols cols_both = {
	4, { "DEVICE", "RWBS", "COMM", "TIME" }, { -10, -5, -16, -6 },
	{ "device", "rwbs", "comm", "time" },
};

static void on_key(const void *key, const struct agg_stats *st,
		   const uint64_t *slot, void *arg)
{
	const struct disk_key *k = key;
	struct state *s = arg;
	char rwbs[DISK_RWBS_LEN + 1], comm[17];
	const char *labels[4];
	int n = 0;

	memcpy(rwbs, k->rwbs, DISK_RWBS_LEN);
	rwbs[DISK_RWBS_LEN] = '\0';
	memcpy(comm, k->comm, 16);
	comm[16] = '\0';
	labels[n++] = dev_name(s, k->dev);
	labels[n++] = rwbs;
	if (s->o.comm)
		labels[n++] = comm;
	if (s->o.queue)
		labels[n++] = k->what == DISK_QUEUE ? "queue" : "device";
	if (k->what == DISK_DEVICE)
		s->requests += st->count;
	if (lat_table_add(s->table, labels, (int)k->what, st, slot,
			  k->what == DISK_DEVICE))
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

static int count_inflight(const void *key, const void *value, void *arg)
{
	(void)key;
	(void)value;
	(*(uint64_t *)arg)++;
	return 0;
}

static void summary(void *arg, const char *reason)
{
	struct state *s = arg;
	uint64_t keys = 0, slots = 0, unsettled = 0, unmatched = 0, full = 0;
	uint64_t inflight = 0, empty = 0;
	uint32_t u = DISK_UNMATCHED, f = DISK_TRACK_FULL, e = DISK_EMPTY;
	struct run_skips skips;

	run_skips_read(&s->run, &skips);
	agg_lost(s->agg, &keys, &slots, &unsettled);
	bpf_map_sum_u64(s->drops_fd, &u, &unmatched);
	bpf_map_sum_u64(s->drops_fd, &f, &full);
	bpf_map_sum_u64(s->drops_fd, &e, &empty);
	bpf_map_dump(s->inflight_fd, count_inflight, &inflight);
	if (s->o.r.json) {
		printf("{\"type\":\"summary\",\"reason\":\"%s\",\"intervals\":"
		       "%llu,\"requests\":%llu,\"in_flight_at_exit\":%llu,"
		       "\"unmatched_completions\":%llu,\"lost_untracked\":%llu,"
		       "\"flush_steps\":%llu,\"lost_keys\":%llu,"
		       "\"lost_buckets\":%llu", reason,
		       (unsigned long long)s->intervals,
		       (unsigned long long)s->requests,
		       (unsigned long long)inflight,
		       (unsigned long long)unmatched,
		       (unsigned long long)full, (unsigned long long)empty,
		       (unsigned long long)keys,
		       (unsigned long long)slots);
		run_skips_json(stdout, &skips);
		printf("}\n");
		fflush(stdout);
	}
	msg("%llu requests; %llu still in flight at exit, %llu completions of "
	    "requests issued before the start", (unsigned long long)s->requests,
	    (unsigned long long)inflight, (unsigned long long)unmatched);
	if (full || keys || slots)
		msg("%llu requests were not tracked (in-flight map full), %llu "
		    "not counted and %llu not put in a histogram (aggregation "
		    "maps full)", (unsigned long long)full,
		    (unsigned long long)keys, (unsigned long long)slots);
	run_skips_say(&skips);
	vmsg("%llu completions without data were the writes that asked for "
	     "a flush (the flush is counted)", (unsigned long long)empty);
	if (unsettled)
		vmsg("%llu intervals closed with a program still writing",
		     (unsigned long long)unsettled);
}

static void announce(const struct state *s)
{
	char who[PATH_MAX + 96] = "every process";

	if (s->run.t.pid)
		snprintf(who, sizeof(who), "requests of PID %d (%s), not its "
			 "writeback by kernel threads", s->run.t.pid,
			 s->run.t.exe_shown);
	fprintf(stderr, "Tracing block I/O of %s, %s (%d tracepoints)... Hit "
		"Ctrl-C to end.\n", s->o.device ? s->o.device : "every device",
		who, s->run.ps.n);
	if (!s->o.r.json)
		return;
	printf("{\"type\":\"start\",\"pid\":%d,\"device\":", s->run.t.pid);
	if (s->o.device)
		json_string(stdout, s->o.device);
	else
		printf("null");
	printf(",\"queue\":%s,\"comm\":%s}\n", s->o.queue ? "true" : "false",
	       s->o.comm ? "true" : "false");
	fflush(stdout);
}

static int setup(struct state *s)
{
	static const char *const maps[] = { "disk_drops", "inflight" };
	static const char *const tps[] = { "block_rq_insert", "block_rq_issue",
					   "block_rq_complete" };
	char buf[3][48], prog[64];
	const char *cflags[3];
	int fds[2], err = 0;
	size_t t;

	for (t = 0; t < ARRAY_SIZE(tps) && !err; t++) {
		/* the insert is only needed for the queue time */
		if (t == 0 && !s->o.queue)
			continue;
		snprintf(prog, sizeof(prog), "tracepoint__block__%s", tps[t]);
		err = plan_tracepoint(&s->run.plan, prog, "block", tps[t]);
	}
	if (err) {
		msg("cannot plan the tracepoints: %s", strerror(-err));
		return err;
	}
	cflags_of(&s->o, buf, cflags);
	s->table = lat_table_new(s->o.comm ? (s->o.queue ? &cols_both :
						 &cols_comm) :
				 s->o.queue ? &cols_queue : &cols_plain);
	s->print = (struct lat_print){ .json = s->o.r.json, .hist = s->o.r.hist,
				       .timestamp = s->o.r.timestamp,
				       .div = s->o.r.div, .unit = s->o.r.unit,
				       .nothing = "no block I/O" };
	if (!s->table || run_load(&s->run, disklat_bpf_text, cflags, 3) != 0 ||
	    run_maps(&s->run, maps, 2, fds) != 0 ||
	    agg_open(&s->agg, &s->run) != 0)
		return -1;
	s->drops_fd = fds[0];
	s->inflight_fd = fds[1];
	return run_attach(&s->run);
}

static int run_loop(struct state *s)
{
	struct ticker tk;

	ticker_init(&tk, &s->o.r, report, s);
	return ticker_end(&tk, &s->run, ticker_run(&tk, &s->run.t,
						   &stop_signal),
			  summary, s);
}

int main(int argc, char **argv)
{
	static struct state s;
	int rc = 1;

	prog_name = "ckb-disklat";
	parse_opts(&s.o, argc, argv);
	if (s.o.r.ebpf) {
		print_ebpf(&s.o);
		return 0;
	}
	if (cli_privileged() != 0)
		return 1;
	cli_signals(on_signal, false);
	if (run_find_target(&s.run, &s.o.topt, false, NULL) == 0 &&
	    setup(&s) == 0) {
		announce(&s);
		rc = run_loop(&s);
	}
	run_close(&s.run);
	agg_free(s.agg);
	lat_table_free(s.table);
	return rc;
}
