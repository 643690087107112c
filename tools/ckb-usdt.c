/* ckb-usdt: list, count or print the USDT probes of a node. */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <linux/types.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../programs/usdt.h"
#include "../src/bpfsys.h"
#include "../src/cli.h"
#include "../src/elfsym.h"
#include "../src/events.h"
#include "../src/report.h"
#include "../src/run.h"
#include "../src/ticker.h"
#include "../src/usdt.h"
#include "../src/util.h"
#include "usdt.bpf.inc"

#define MAX_REQS 64
#define RINGBUF_PAGES 512

_Static_assert(USDT_NARGS == USDT_MAX_ARGS, "argument counts differ");

static const char usage_text[] =
"USAGE: ckb-usdt [-p PID | -b PATH] [-l] [-a] [-j] [-i SEC] [-d SEC] [-v]\n"
"                [--ebpf] [PROVIDER:]PROBE[:FORMAT] ...\n"
"\n"
"List the USDT probes (sys/sdt.h tracepoints) of a node, count how often\n"
"each fires every interval, or print every firing with its arguments.\n"
"\n"
"  -p, --pid PID       trace this process: the probes of its executable\n"
"                      and of every library or plugin it maps\n"
"  -b, --binary PATH   trace every process running this executable or\n"
"                      mapping this library; or list its probes\n"
"  -l, --list          list the probes: name, location, semaphore and\n"
"                      argument specs (no root needed with -b)\n"
"  -a, --args          print every firing with its arguments\n"
"  -j, --json          JSON lines\n"
"  -i, --interval SEC  seconds between count reports (default 1)\n"
"  -d, --duration SEC  stop after SEC seconds\n"
"  -v, --verbose       show locations, offsets, argument decoding and the\n"
"                      compiler output\n"
"      --ebpf          print the BPF program and its parameters, and exit\n"
"  -h, --help          this text\n"
"\n"
"  PROVIDER:PROBE      probes to trace (shell globs; default: all); a\n"
"                      missing provider matches any\n"
"  FORMAT              with -a, how to print each argument, comma\n"
"                      separated: d integer (default), x hex, s pointer to\n"
"                      a C string (first 63 bytes); PROVIDER:PROBE:FORMAT\n"
"                      (the provider may be empty: :PROBE:FORMAT)\n"
"\n"
"EXAMPLES:\n"
"  ckb-usdt -b /usr/local/bin/bitcoind -l        # list the probes\n"
"  ckb-usdt -p PID                               # count every probe\n"
"  ckb-usdt -p PID net:inbound_message 'validation:*'\n"
"  ckb-usdt -p PID -a net:inbound_message:d,s,s,s,d\n"
"  ckb-usdt -p PID -a -j python:function__entry:s,s,d | jq .\n"
"\n"
"Exit status: 0 done (Ctrl-C and SIGTERM included), 1 runtime error or\n"
"the traced process exited, 2 bad usage.\n";

struct probe_req {
	const char *text;
	char provider[64];	/* "" matches any */
	char name[64];
	char fmt[USDT_NARGS];
	int nfmt;
	bool matched;
};

struct opts {
	struct target_opts topt;
	bool list, all;
	struct cli_report r;
	int nreqs;
	struct probe_req reqs[MAX_REQS];
};

struct slot {
	struct usdt_note note;
	int file;		/* index into state.files */
	int probe;
	char fmt[USDT_NARGS];
};

/* An object whose notes are read: with -p, the executable and every
 * object the process maps that has USDT notes. */
#define MAX_FILES 32

struct note_file {
	struct elf_file elf;
	char shown[PATH_MAX];	/* the path as the process knows it */
};

struct probe {
	char name[130];
	uint64_t total, prev;
};

enum { MAP_COUNTS, MAP_SPECS, MAP_LOST, MAP_EVENTS, NMAPS };
static const char *const map_names[] = { "counts", "specs", "lost", "events" };

struct state {
	struct opts o;
	struct run run;
	int nfiles, cur_file;
	struct note_file files[MAX_FILES];
	int nobjects;		/* objects looked at (-p) */
	int nnotes;
	struct usdt_note *notes;
	int *note_file;		/* the file of each note */
	int nslots;
	struct slot slots[USDT_SLOTS];
	int nprobes;
	struct probe probes[USDT_SLOTS];
	int nsems;
	int map_fds[NMAPS];
	struct event_reader *rd;
	uint64_t intervals;
	struct ticker tk;
	int64_t real_minus_mono;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* "d,s,,x" into r->fmt; 0 or -EINVAL. */
static int parse_format(struct probe_req *r, const char *f)
{
	const char *p = f;
	size_t len;

	for (;;) {
		len = strcspn(p, ",");
		if (r->nfmt == USDT_NARGS || len > 1)
			return -EINVAL;
		if (len == 1 && !strchr("dxs", *p))
			return -EINVAL;
		r->fmt[r->nfmt++] = len ? *p : 'd';
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

static void parse_req(struct probe_req *r, const char *text)
{
	const char *c1 = strchr(text, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	const char *name = c1 ? c1 + 1 : text;
	size_t plen = c1 ? (size_t)(c1 - text) : 0;
	size_t nlen = c2 ? (size_t)(c2 - name) : strlen(name);

	memset(r, 0, sizeof(*r));
	r->text = text;
	if (plen >= sizeof(r->provider) || nlen >= sizeof(r->name) || !nlen ||
	    (c1 && !c2 && !plen))
		usage_fail("bad probe '%s': want [PROVIDER:]PROBE[:FORMAT]",
			   text);
	memcpy(r->provider, text, plen);
	memcpy(r->name, name, nlen);
	if (c2 && parse_format(r, c2 + 1) != 0)
		usage_fail("bad format in '%s': want d, x or s for each "
			   "argument, comma separated", text);
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "binary", required_argument, NULL, 'b' },
		{ "list", no_argument, NULL, 'l' },
		{ "args", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "ebpf", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	cli_report_init(&o->r);
	while ((c = getopt_long(argc, argv, "p:b:laji:d:vh", longs,
				NULL)) != -1) {
		if (cli_report_opt(&o->r, c, optarg, usage_text, "pbla"))
			continue;
		switch (c) {
		case 'p': o->topt.pid = cli_pid(optarg); break;
		case 'b': o->topt.binary = optarg; break;
		case 'l': o->list = true; break;
		case 'a': o->all = true; break;
		}
	}
	if (o->topt.pid && o->topt.binary)
		usage_fail("-p and -b are exclusive");
	if (o->list && o->all)
		usage_fail("-l and -a are exclusive");
	for (; optind < argc; optind++) {
		if (o->nreqs == MAX_REQS)
			usage_fail("more than %d probe arguments", MAX_REQS);
		parse_req(&o->reqs[o->nreqs++], argv[optind]);
	}
	if (!o->r.ebpf && !o->topt.pid && !o->topt.binary)
		usage_fail("no target: pass -p PID or -b PATH");
}

static void print_ebpf(const struct opts *o)
{
	printf("// cflags: -DEVENTS=%d -DRINGBUF_PAGES=%d\n", o->all ? 1 : 0,
	       RINGBUF_PAGES);
	printf("// config[0]: the traced PID, set after loading (0: every "
	       "process)\n");
	printf("// programs: usdt_0 .. usdt_<locations - 1>, one per probe "
	       "location\n");
	fputs(usdt_bpf_text, stdout);
}

static int find_target(struct state *s)
{
	return run_find_target(&s->run, &s->o.topt, false,
			       "the node executable or library");
}

static int collect_note(const struct usdt_note *n, void *arg)
{
	struct state *s = arg;
	struct usdt_note *p;
	int *f;

	p = realloc(s->notes, sizeof(*p) * (size_t)(s->nnotes + 1));
	if (!p)
		return -ENOMEM;
	s->notes = p;
	f = realloc(s->note_file, sizeof(*f) * (size_t)(s->nnotes + 1));
	if (!f)
		return -ENOMEM;
	s->note_file = f;
	s->note_file[s->nnotes] = s->cur_file;
	s->notes[s->nnotes++] = *n;
	return 0;
}

/* Read the notes of one object; keep it when it has some (the first
 * object, the one named, is kept in any case).  0 or -errno. */
static int add_file(struct state *s, const char *open_path,
		    const char *shown)
{
	struct note_file *f = &s->files[s->nfiles];
	int err, n;

	if (s->nfiles == MAX_FILES)
		return 0;
	err = elf_open(&f->elf, open_path);
	if (err)
		return err;
	snprintf(f->shown, sizeof(f->shown), "%s", shown);
	s->cur_file = s->nfiles;
	n = usdt_notes(&f->elf, collect_note, s);
	if (n < 0 || (n == 0 && s->nfiles > 0)) {
		elf_close(&f->elf);
		return n < 0 ? n : 0;
	}
	s->nfiles++;
	return 0;
}

static int add_mapped(const char *open_path, const char *shown, dev_t dev,
		      ino_t ino, void *arg)
{
	struct state *s = arg;
	struct stat st;

	/* the executable is already in */
	if (stat(s->run.t.exe, &st) == 0 && st.st_dev == dev &&
	    st.st_ino == ino)
		return 0;
	s->nobjects++;
	if (add_file(s, open_path, shown) < 0)
		vmsg("cannot read the notes of %s", shown);
	return 0;
}

static int read_notes(struct state *s)
{
	int err = add_file(s, s->run.t.exe, s->run.t.exe_shown);

	if (err == -ENOEXEC) {
		msg("%s is not an ELF file; pass the node executable or "
		    "library", s->run.t.exe_shown);
		return err;
	}
	if (err) {
		msg("cannot read %s: %s", s->run.t.exe_shown, strerror(-err));
		return err;
	}
	/* a process: the notes of every object it maps, as BCC's
	 * USDT(pid=) and bpftrace -p read them */
	if (s->run.t.pid && !s->o.topt.binary)
		target_map_objects(s->run.t.pid, add_mapped, s);
	if (s->nnotes == 0 && s->run.t.pid && !s->o.topt.binary) {
		msg("no USDT probes in process %d (%s) or any of the %d "
		    "objects it maps; the program must be built with "
		    "sys/sdt.h probes", s->run.t.pid, s->run.t.exe_shown,
		    s->nobjects);
		return -ENOENT;
	}
	if (s->nnotes == 0) {
		msg("no USDT probes in %s (no .note.stapsdt section); the "
		    "program must be built with sys/sdt.h probes",
		    s->run.t.exe_shown);
		return -ENOENT;
	}
	return 0;
}

/* The first request a note matches, or NULL. */
static struct probe_req *match(struct state *s, const struct usdt_note *n)
{
	int i;

	for (i = 0; i < s->o.nreqs; i++) {
		struct probe_req *r = &s->o.reqs[i];

		if ((!r->provider[0] ||
		     fnmatch(r->provider, n->provider, 0) == 0) &&
		    fnmatch(r->name, n->name, 0) == 0)
			return r;
	}
	return NULL;
}

static bool wanted(struct state *s, const struct usdt_note *n,
		   struct probe_req **req)
{
	*req = match(s, n);
	if (*req)
		(*req)->matched = true;
	return *req || !s->o.nreqs;
}

static int unmatched(struct state *s)
{
	int i;

	for (i = 0; i < s->o.nreqs; i++) {
		if (s->o.reqs[i].matched)
			continue;
		if (s->run.t.pid && !s->o.topt.binary)
			msg("no probe matches '%s' in process %d or the "
			    "objects it maps; list them with ckb-usdt -l -p "
			    "%d", s->o.reqs[i].text, s->run.t.pid,
			    s->run.t.pid);
		else
			msg("no probe matches '%s' in %s; list them with "
			    "ckb-usdt -l -b %s", s->o.reqs[i].text,
			    s->run.t.exe_shown, s->run.t.exe_shown);
		return -ENOENT;
	}
	return 0;
}

static void list_text_arg(const struct usdt_arg *a, int i)
{
	const char *sign = a->size < 0 ? "signed" : "unsigned";
	int bytes = a->size < 0 ? -a->size : a->size;

	printf("    arg%d %-20s %s %d-byte ", i + 1, a->spec, sign, bytes);
	switch (a->kind) {
	case USDT_ARG_CONST:
		printf("constant %lld\n", (long long)a->val);
		break;
	case USDT_ARG_REG:
		printf("register %s\n", usdt_reg_name(a->reg));
		break;
	case USDT_ARG_MEM:
		printf("memory at %s%+lld\n", usdt_reg_name(a->reg),
		       (long long)a->val);
		break;
	default:
		printf("unsupported (reported as unavailable)\n");
	}
}

static void list_text(const struct usdt_note *n)
{
	char name[130], sem[24] = "-";
	int i;

	snprintf(name, sizeof(name), "%s:%s", n->provider, n->name);
	if (n->semaphore)
		snprintf(sem, sizeof(sem), "0x%llx",
			 (unsigned long long)n->semaphore);
	printf("%-36s 0x%-14llx %-14s %s\n", name, (unsigned long long)n->pc,
	       sem, n->argspec);
	if (!verbose)
		return;
	printf("    location offset 0x%llx, semaphore offset 0x%llx, "
	       "base 0x%llx\n", (unsigned long long)n->pc_offset,
	       (unsigned long long)n->sem_offset,
	       (unsigned long long)n->base);
	for (i = 0; i < n->nargs; i++)
		list_text_arg(&n->args[i], i);
}

static const char *const kind_names[] = { "const", "reg", "mem",
					  "unsupported" };

static void list_json(const struct usdt_note *n, const char *file)
{
	const struct usdt_arg *a;
	int i;

	printf("{\"type\":\"probe\",\"file\":");
	json_string(stdout, file);
	printf(",\"provider\":");
	json_string(stdout, n->provider);
	printf(",\"name\":");
	json_string(stdout, n->name);
	printf(",\"location\":%llu,\"location_offset\":%llu,\"base\":%llu,"
	       "\"semaphore\":%llu,\"semaphore_offset\":%llu,\"argspec\":",
	       (unsigned long long)n->pc, (unsigned long long)n->pc_offset,
	       (unsigned long long)n->base, (unsigned long long)n->semaphore,
	       (unsigned long long)n->sem_offset);
	json_string(stdout, n->argspec);
	printf(",\"args\":[");
	for (i = 0; i < n->nargs; i++) {
		a = &n->args[i];
		printf("%s{\"spec\":", i ? "," : "");
		json_string(stdout, a->spec);
		printf(",\"size\":%d,\"kind\":\"%s\"", a->size,
		       kind_names[a->kind]);
		if (a->kind == USDT_ARG_REG || a->kind == USDT_ARG_MEM)
			printf(",\"reg\":\"%s\"", usdt_reg_name(a->reg));
		if (a->kind == USDT_ARG_CONST || a->kind == USDT_ARG_MEM)
			printf(",\"%s\":%lld", a->kind == USDT_ARG_CONST ?
			       "value" : "offset", (long long)a->val);
		printf("}");
	}
	printf("]}\n");
}

static int list_probes(struct state *s)
{
	struct probe_req *r;
	int i;

	for (i = 0; i < s->nnotes; i++)
		wanted(s, &s->notes[i], &r);
	if (unmatched(s) != 0)
		return -ENOENT;
	if (!s->o.r.json)
		printf("%-36s %-16s %-14s %s\n", "PROBE", "LOCATION",
		       "SEMAPHORE", "ARGS");
	for (i = 0; i < s->nnotes; i++) {
		if (!wanted(s, &s->notes[i], &r))
			continue;
		if (s->o.r.json) {
			list_json(&s->notes[i], s->files[s->note_file[i]].shown);
			continue;
		}
		/* the object's name above its probes, when there are several */
		if (s->nfiles > 1 && (i == 0 || s->note_file[i] !=
						 s->note_file[i - 1]))
			printf("%s:\n", s->files[s->note_file[i]].shown);
		list_text(&s->notes[i]);
	}
	return 0;
}

static int probe_index(struct state *s, const struct usdt_note *n)
{
	char name[130];
	int i;

	snprintf(name, sizeof(name), "%s:%s", n->provider, n->name);
	for (i = 0; i < s->nprobes; i++)
		if (strcmp(s->probes[i].name, name) == 0)
			return i;
	strcpy(s->probes[s->nprobes].name, name);
	return s->nprobes++;
}

static int add_slot(struct state *s, const struct usdt_note *n, int file,
		    const struct probe_req *r)
{
	const char *shown = s->files[file].shown;
	struct slot *sl;

	if (!n->pc_offset) {
		msg("probe %s:%s at 0x%llx lies outside the loaded segments "
		    "of %s; the file is damaged", n->provider, n->name,
		    (unsigned long long)n->pc, shown);
		return -ENOEXEC;
	}
	if (r && r->nfmt > n->nargs) {
		msg("format of '%s' has %d fields but %s:%s has %d "
		    "arguments; see ckb-usdt -l -b %s", r->text, r->nfmt,
		    n->provider, n->name, n->nargs, shown);
		return -EINVAL;
	}
	if (s->nslots == USDT_SLOTS) {
		msg("more than %d probe locations selected; name fewer "
		    "probes", USDT_SLOTS);
		return -E2BIG;
	}
	sl = &s->slots[s->nslots++];
	sl->note = *n;
	sl->file = file;
	sl->probe = probe_index(s, n);
	memset(sl->fmt, 'd', sizeof(sl->fmt));
	if (r)
		memcpy(sl->fmt, r->fmt, (size_t)r->nfmt);
	if (n->semaphore)
		s->nsems++;
	return 0;
}

static int select_slots(struct state *s)
{
	struct probe_req *r;
	int i, err;

	for (i = 0; i < s->nnotes; i++) {
		if (!wanted(s, &s->notes[i], &r))
			continue;
		err = add_slot(s, &s->notes[i], s->note_file[i], r);
		if (err)
			return err;
		vmsg("%s at 0x%llx (offset 0x%llx), semaphore offset 0x%llx, "
		     "args: %s", s->probes[s->slots[s->nslots - 1].probe].name,
		     (unsigned long long)s->notes[i].pc,
		     (unsigned long long)s->notes[i].pc_offset,
		     (unsigned long long)s->notes[i].sem_offset,
		     s->notes[i].argspec);
	}
	return unmatched(s);
}

/* One program per location, usdt_<slot>, with its semaphore. */
static int plan_slots(struct state *s)
{
	const struct usdt_note *n;
	char prog[16], what[160];
	int i, err;

	for (i = 0; i < s->nslots; i++) {
		n = &s->slots[i].note;
		snprintf(prog, sizeof(prog), "usdt_%d", i);
		snprintf(what, sizeof(what), "%s:%s", n->provider, n->name);
		err = plan_uprobe(&s->run.plan, prog,
				  s->files[s->slots[i].file].elf.path,
				  n->pc_offset, false, n->sem_offset, what);
		if (err) {
			msg("cannot plan the probes: %s", strerror(-err));
			return err;
		}
	}
	return 0;
}

static int load(struct state *s)
{
	char events[32], pages[32];
	const char *cflags[2] = { events, pages };
	int rc;

	snprintf(events, sizeof(events), "-DEVENTS=%d", s->o.all ? 1 : 0);
	snprintf(pages, sizeof(pages), "-DRINGBUF_PAGES=%d", RINGBUF_PAGES);
	rc = plan_slots(s);
	if (!rc)
		rc = run_load(&s->run, usdt_bpf_text, cflags, 2);
	if (!rc)
		rc = run_maps(&s->run, map_names, s->o.all ? NMAPS : 1,
			      s->map_fds);
	return rc;
}

static void spec_of(const struct slot *sl, struct usdt_spec *sp)
{
	static const __u8 kinds[] = {
		[USDT_ARG_CONST] = USDT_K_CONST,
		[USDT_ARG_REG] = USDT_K_REG,
		[USDT_ARG_MEM] = USDT_K_MEM,
		[USDT_ARG_UNSUPPORTED] = USDT_K_NONE,
	};
	const struct usdt_arg *a;
	int i;

	memset(sp, 0, sizeof(*sp));
	sp->nargs = (__u32)sl->note.nargs;
	for (i = 0; i < sl->note.nargs; i++) {
		a = &sl->note.args[i];
		sp->arg[i].kind = kinds[a->kind];
		sp->arg[i].size = (__s8)a->size;
		sp->arg[i].reg = a->reg < 0 ? 0 : (__u8)a->reg;
		sp->arg[i].val = a->val;
		sp->arg[i].str = sl->fmt[i] == 's';
	}
}

static int fill_specs(struct state *s)
{
	struct usdt_spec sp;
	uint32_t i;
	int err;

	for (i = 0; i < (uint32_t)s->nslots; i++) {
		spec_of(&s->slots[i], &sp);
		err = bpf_map_set(s->map_fds[MAP_SPECS], &i, &sp);
		if (err) {
			msg("cannot fill the BPF spec map: %s", strerror(-err));
			return err;
		}
	}
	return 0;
}

static int attach(struct state *s)
{
	vmsg("attaching %d locations as %s", s->nslots,
	     s->run.multi ? "uprobe_multi links" : "perf event uprobes");
	return run_attach(&s->run);
}

/* Sum the per-CPU counters of every slot into the probes' totals. */
static int read_counts(struct state *s)
{
	uint64_t n;
	uint32_t i;
	int err;

	for (i = 0; i < (uint32_t)s->nprobes; i++)
		s->probes[i].total = 0;
	for (i = 0; i < (uint32_t)s->nslots; i++) {
		err = bpf_map_sum_u64(s->map_fds[MAP_COUNTS], &i, &n);
		if (err)
			return err;
		s->probes[s->slots[i].probe].total += n;
	}
	return 0;
}

static uint64_t read_lost(struct state *s)
{
	uint32_t zero = 0;
	uint64_t n = 0;

	if (s->o.all)
		bpf_map_sum_u64(s->map_fds[MAP_LOST], &zero, &n);
	return n;
}

static void print_interval(struct state *s, double secs)
{
	struct timeval tv;
	uint64_t d;
	bool any = false;
	int i;

	gettimeofday(&tv, NULL);
	for (i = 0; i < s->nprobes; i++) {
		d = s->probes[i].total - s->probes[i].prev;
		if (!d)
			continue;
		if (s->o.r.json) {
			printf("{\"type\":\"interval\",\"ts\":%ld.%06ld,"
			       "\"interval_s\":%.3f,\"probe\":",
			       (long)tv.tv_sec, (long)tv.tv_usec, secs);
			json_string(stdout, s->probes[i].name);
			printf(",\"count\":%llu,\"per_s\":%.1f}\n",
			       (unsigned long long)d, (double)d / secs);
			continue;
		}
		if (!any)
			printf("%-40s %12s %12s\n", "PROBE", "COUNT", "PER/S");
		any = true;
		printf("%-40s %12llu %12.1f\n", s->probes[i].name,
		       (unsigned long long)d, (double)d / secs);
	}
	if (!s->o.r.json)
		printf(any ? "\n" : "no probe fired in the last %.1f s\n\n",
		       secs);
}

static int report(void *arg, double secs)
{
	struct state *s = arg;
	int i, err = read_counts(s);

	if (err) {
		msg("cannot read BPF maps: %s", strerror(-err));
		return err;
	}
	s->intervals++;
	if (!s->o.all)
		print_interval(s, secs);
	for (i = 0; i < s->nprobes; i++)
		s->probes[i].prev = s->probes[i].total;
	return out_flush();
}

static void summary(void *arg, const char *reason)
{
	struct state *s = arg;
	double secs = (double)(mono_ns() - s->tk.begin_ns) / 1e9;
	uint64_t lost;
	int i;

	if (s->rd)
		events_drain(s->rd);
	lost = read_lost(s);
	read_counts(s);
	if (s->o.r.json) {
		printf("{\"type\":\"summary\",\"reason\":\"%s\",\"duration_s\":"
		       "%.3f,\"intervals\":%llu,\"counts\":{", reason, secs,
		       (unsigned long long)s->intervals);
		for (i = 0; i < s->nprobes; i++) {
			printf("%s", i ? "," : "");
			json_string(stdout, s->probes[i].name);
			printf(":%llu", (unsigned long long)s->probes[i].total);
		}
		printf("},\"lost_events\":%llu}\n", (unsigned long long)lost);
	} else {
		printf("%sTotal over %.1f s:\n%-40s %12s\n",
		       s->o.all ? "\n" : "", secs, "PROBE", "COUNT");
		for (i = 0; i < s->nprobes; i++)
			printf("%-40s %12llu\n", s->probes[i].name,
			       (unsigned long long)s->probes[i].total);
	}
	fflush(stdout);
	if (lost)
		msg("%llu firings were counted but not printed: the ring "
		    "buffer was full", (unsigned long long)lost);
}

/* A string argument as read: printable ASCII kept, the rest escaped. */
static void print_cstr(const char *p)
{
	const unsigned char *c = (const unsigned char *)p;

	putchar('"');
	for (; *c; c++) {
		if (*c == '"' || *c == '\\')
			printf("\\%c", *c);
		else if (*c < 0x20 || *c >= 0x7f)
			printf("\\x%02x", *c);
		else
			putchar(*c);
	}
	putchar('"');
}

/* Drop a UTF-8 sequence the read cut short, so JSON stays valid. */
static void trim_utf8(char *p)
{
	size_t len = strlen(p), i = len, need;

	if (len < USDT_STRLEN - 1)
		return;
	while (i > 0 && ((unsigned char)p[i - 1] & 0xc0) == 0x80 &&
	       len - i < 3)
		i--;
	if (i == 0 || (unsigned char)p[i - 1] < 0xc0)
		return;
	need = (unsigned char)p[i - 1] >= 0xf0 ? 4 :
	       (unsigned char)p[i - 1] >= 0xe0 ? 3 : 2;
	if (len - (i - 1) < need)
		p[i - 1] = '\0';
}

static void print_arg(const struct slot *sl, struct usdt_event *e, int i,
		      bool json)
{
	const struct usdt_arg *a = &sl->note.args[i];

	if (e->bad & (1u << i)) {
		fputs(json ? "null" : "?", stdout);
		return;
	}
	if (sl->fmt[i] == 's') {
		e->str[i][USDT_STRLEN - 1] = '\0';
		trim_utf8(e->str[i]);
		if (json)
			json_string(stdout, e->str[i]);
		else
			print_cstr(e->str[i]);
	} else if (sl->fmt[i] == 'x') {
		printf(json ? "\"0x%llx\"" : "0x%llx",
		       (unsigned long long)e->arg[i]);
	} else if (a->size < 0) {
		printf("%lld", (long long)e->arg[i]);
	} else {
		printf("%llu", (unsigned long long)e->arg[i]);
	}
}

static int on_event(const void *data, size_t len, void *arg)
{
	struct state *s = arg;
	struct usdt_event e;
	const struct slot *sl;
	char ts[16];
	time_t sec;
	struct tm tm;
	int64_t real;
	int i;

	if (len < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	if (e.slot >= (uint32_t)s->nslots)
		return 0;
	sl = &s->slots[e.slot];
	real = (int64_t)e.ts_ns + s->real_minus_mono;
	if (s->o.r.json) {
		printf("{\"type\":\"event\",\"ts\":%lld.%06lld,\"pid\":%u,"
		       "\"tid\":%u,\"probe\":", (long long)(real / 1000000000),
		       (long long)(real % 1000000000 / 1000), e.pid, e.tid);
		json_string(stdout, s->probes[sl->probe].name);
		printf(",\"args\":[");
	} else {
		sec = (time_t)(real / 1000000000);
		localtime_r(&sec, &tm);
		strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
		printf("%-8s %-7u %-7u %-30s", ts, e.pid, e.tid,
		       s->probes[sl->probe].name);
	}
	for (i = 0; i < sl->note.nargs; i++) {
		fputs(s->o.r.json ? (i ? "," : "") : " ", stdout);
		print_arg(sl, &e, i, s->o.r.json);
	}
	fputs(s->o.r.json ? "]}\n" : "\n", stdout);
	return 0;
}

static int open_events(struct state *s)
{
	struct timespec rt, mt;
	int err;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mt);
	s->real_minus_mono = ((int64_t)rt.tv_sec - (int64_t)mt.tv_sec) *
			     1000000000 + (rt.tv_nsec - mt.tv_nsec);
	err = events_open_ringbuf(&s->rd, s->map_fds[MAP_EVENTS], on_event, s);
	if (err)
		msg("cannot read the BPF ring buffer: %s", strerror(-err));
	return err;
}

static void announce(const struct state *s)
{
	char where[PATH_MAX + 64];
	int i;

	if (s->run.t.pid)
		snprintf(where, sizeof(where), "PID %d (%s)", (int)s->run.t.pid,
			 s->run.t.exe_shown);
	else
		snprintf(where, sizeof(where), "every process using %s",
			 s->run.t.exe_shown);
	fprintf(stderr, "Tracing %d USDT probes (%d locations, %d with a "
		"semaphore) in %s... Hit Ctrl-C to end.\n", s->nprobes,
		s->nslots, s->nsems, where);
	if (s->o.r.json) {
		printf("{\"type\":\"start\",\"pid\":%d,\"binary\":",
		       (int)s->run.t.pid);
		json_string(stdout, s->run.t.exe_shown);
		printf(",\"locations\":%d,\"probes\":[", s->nslots);
		for (i = 0; i < s->nprobes; i++) {
			printf("%s", i ? "," : "");
			json_string(stdout, s->probes[i].name);
		}
		printf("]}\n");
	} else if (s->o.all) {
		printf("%-8s %-7s %-7s %-30s %s\n", "TIME", "PID", "TID",
		       "PROBE", "ARGS");
	}
	fflush(stdout);
}

/* Wait up to 50 ms for firings to print (-a), or just sleep. */
static void nap(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	struct state *s = arg;

	if (!s->rd) {
		nanosleep(&ts, NULL);
		return;
	}
	events_poll(s->rd, 50);
	fflush(stdout);
}

static int run(struct state *s)
{
	ticker_init(&s->tk, &s->o.r, report, s);
	s->tk.wait = nap;
	return ticker_end(&s->tk, &s->run,
			  ticker_run(&s->tk, &s->run.t, &stop_signal),
			  summary, s);
}

static int trace(struct state *s)
{
	if (select_slots(s) != 0 || load(s) != 0 ||
	    (s->o.all && (fill_specs(s) != 0 || open_events(s) != 0)) ||
	    attach(s) != 0)
		return 1;
	announce(s);
	return run(s);
}

int main(int argc, char **argv)
{
	static struct state s;
	int rc = 1, i;

	prog_name = "ckb-usdt";
	parse_opts(&s.o, argc, argv);
	if (s.o.r.ebpf) {
		print_ebpf(&s.o);
		return 0;
	}
	cli_signals(on_signal, false);
	if ((!s.o.list && cli_privileged() != 0) || find_target(&s) != 0 ||
	    read_notes(&s) != 0)
		goto out;
	if (s.o.list)
		rc = list_probes(&s) ? 1 : 0;
	else
		rc = trace(&s);
out:
	events_close(s.rd);
	run_close(&s.run);
	for (i = 0; i < s.nfiles; i++)
		elf_close(&s.files[i].elf);
	free(s.notes);
	free(s.note_file);
	return rc;
}
