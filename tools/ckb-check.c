/* ckb-check: can the ckbtrace tools run here, against this target? */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <linux/bpf.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "../src/catalog.h"
#include "../src/cli.h"
#include "../src/compile.h"
#include "../src/report.h"
#include "../src/target.h"
#include "../src/util.h"

#define TRACEFS "/sys/kernel/tracing"
#define PROBE_SECONDS "2"
#define PROBE_TIMEOUT_MS 90000

static const char usage_text[] =
"USAGE: ckb-check [-p PID | -b PATH] [--probe] [--fix] [-j] [-v]\n"
"\n"
"Check that this host can run the ckbtrace tools against a node: kernel\n"
"features, kernel headers, tracefs, privileges, libbcc, the target and its\n"
"RocksDB symbols.  One line per requirement: PASS, WARN, FAIL (with the\n"
"remedy) or INFO.\n"
"\n"
"  -p, --pid PID       check this process\n"
"  -b, --binary PATH   check this executable or librocksdb.so\n"
"                      (neither: the one process named \"ckb\", if any)\n"
"      --probe         run ckb-rdblat on the target for " PROBE_SECONDS " s, report the\n"
"                      operations it saw and that it left nothing attached\n"
"      --fix           mount tracefs on " TRACEFS " if it is not mounted\n"
"  -j, --json          JSON lines\n"
"  -v, --verbose       show the compiler output of the libbcc check\n"
"  -h, --help          this text\n"
"\n"
"EXAMPLES:\n"
"  ckb-check                          # this host, and the process named ckb\n"
"  ckb-check -p $(pgrep -x ckb) --probe  # and a real 2 s trace of it\n"
"  ckb-check -b /usr/local/bin/ckb    # before starting a node\n"
"  ckb-check --fix                    # mount tracefs if needed\n"
"  ckb-check -j | jq 'select(.status == \"FAIL\")'\n"
"\n"
"Exit status: 0 nothing failed (WARN and INFO included), 1 some check\n"
"failed, 2 bad usage.\n";

/* A tiny program: compiling it exercises libbcc, LLVM and the headers;
 * loading it, the verifier and (with the map) map creation. */
static const char check_bpf_text[] =
"#include <uapi/linux/ptrace.h>\n"
"#if WITH_MAP\n"
"BPF_ARRAY(check_map, u64, 1);\n"
"#endif\n"
"int check_prog(struct pt_regs *ctx)\n"
"{\n"
"#if WITH_MAP\n"
"	u32 key = 0;\n"
"	u64 *v = check_map.lookup(&key);\n"
"\n"
"	if (v)\n"
"		__sync_fetch_and_add(v, 1);\n"
"#endif\n"
"	return 0;\n"
"}\n";

enum status { ST_PASS, ST_WARN, ST_FAIL, ST_INFO };

static const char *const status_names[] = { "PASS", "WARN", "FAIL", "INFO" };

struct check {
	enum status st;
	const char *name;
	char detail[768];
	char remedy[256];
	long long count;	/* -1: none */
};

struct opts {
	pid_t pid;
	const char *binary;
	bool probe;
	bool fix;
	bool json;
};

struct state {
	struct opts o;
	struct utsname u;
	int kmajor, kminor;
	char *config;		/* kernel config text, "\n" first */
	const char *config_src;
	bool priv;
	bool headers_ok;
	bool have_target;
	bool resolved;
	struct target t;
	struct resolution r;
	int counts[4];
};

static void parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "binary", required_argument, NULL, 'b' },
		{ "probe", no_argument, NULL, 'P' },
		{ "fix", no_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "p:b:jvh", longs, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->pid = cli_pid(optarg);
			break;
		case 'b': o->binary = optarg; break;
		case 'P': o->probe = true; break;
		case 'F': o->fix = true; break;
		case 'j': o->json = true; break;
		case 'v': verbose = 1; break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fprintf(stderr, "%s: see ckb-check --help\n", prog_name);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc)
		usage_fail("unexpected argument '%s'", argv[optind]);
	if (o->pid && o->binary)
		usage_fail("-p and -b are exclusive");
}

/* ---- output ---- */

static void check_init(struct check *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->count = -1;
}

static void set(struct check *c, enum status st, const char *remedy,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void set(struct check *c, enum status st, const char *remedy,
		const char *fmt, ...)
{
	va_list ap;

	c->st = st;
	snprintf(c->remedy, sizeof(c->remedy), "%s", remedy ? remedy : "");
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

static void emit(struct state *s, const struct check *c)
{
	s->counts[c->st]++;
	if (!s->o.json) {
		printf("%-4s  %-11s  %s%s%s\n", status_names[c->st], c->name,
		       c->detail, c->remedy[0] ? "; " : "", c->remedy);
		fflush(stdout);
		return;
	}
	printf("{\"type\":\"check\",\"name\":\"%s\",\"status\":\"%s\","
	       "\"detail\":", c->name, status_names[c->st]);
	json_string(stdout, c->detail);
	printf(",\"remedy\":");
	if (c->remedy[0])
		json_string(stdout, c->remedy);
	else
		printf("null");
	if (c->count >= 0)
		printf(",\"count\":%lld", c->count);
	printf("}\n");
	fflush(stdout);
}

/* ---- kernel ---- */

static char *read_config_gz(const char *path)
{
	char *buf = NULL, *n;
	size_t len = 1, cap = 0;
	gzFile gz;
	int got;

	gz = gzopen(path, "rb");
	if (!gz)
		return NULL;
	do {
		if (cap < len + 65536) {
			cap = cap ? cap * 2 : 262144;
			n = realloc(buf, cap);
			if (!n)
				goto fail;
			buf = n;
		}
		got = gzread(gz, buf + len, (unsigned)(cap - len - 1));
		if (got < 0)
			goto fail;
		len += (size_t)got;
	} while (got > 0);
	gzclose(gz);
	buf[0] = '\n';
	buf[len] = '\0';
	return buf;
fail:
	gzclose(gz);
	free(buf);
	return NULL;
}

static void load_config(struct state *s)
{
	static char boot[300];

	s->config = read_config_gz("/proc/config.gz");
	if (s->config) {
		s->config_src = "/proc/config.gz";
		return;
	}
	snprintf(boot, sizeof(boot), "/boot/config-%s", s->u.release);
	s->config = read_config_gz(boot);	/* zlib reads plain files too */
	if (s->config)
		s->config_src = boot;
}

/* "CONFIG_X=y", "CONFIG_X is not set", or "" without a config. */
static const char *config_str(const struct state *s, const char *opt,
			      char *buf, size_t len)
{
	char key[96];
	const char *p;

	buf[0] = '\0';
	if (!s->config)
		return buf;
	snprintf(key, sizeof(key), "\n%s=", opt);
	p = strstr(s->config, key);
	if (p)
		snprintf(buf, len, "%.*s", (int)strcspn(p + 1, "\n"), p + 1);
	else
		snprintf(buf, len, "%s is not set", opt);
	return buf;
}

static void with_config(const struct state *s, struct check *c,
			const char *opt)
{
	char cfg[128];
	size_t n = strlen(c->detail);

	if (config_str(s, opt, cfg, sizeof(cfg))[0])
		snprintf(c->detail + n, sizeof(c->detail) - n, " (%s)", cfg);
}

static void check_kernel(struct state *s)
{
	struct check c;

	check_init(&c, "kernel");
	if (strcmp(s->u.machine, "x86_64") != 0)
		set(&c, ST_FAIL, "run on an x86-64 host",
		    "Linux %s on %s: the tools read x86-64 registers",
		    s->u.release, s->u.machine);
	else if (s->kmajor < 4 || (s->kmajor == 4 && s->kminor < 17))
		set(&c, ST_FAIL, "upgrade to Linux 4.17 or later",
		    "Linux %s is older than 4.17 (no uprobe PMU)", s->u.release);
	else
		set(&c, ST_PASS, NULL, "Linux %s %s (config: %s)", s->u.release,
		    s->u.machine, s->config ? s->config_src :
		    "none found, features probed directly");
	emit(s, &c);
}

static void check_bpf(struct state *s)
{
	union bpf_attr attr;
	struct check c;
	long fd;

	check_init(&c, "bpf");
	memset(&attr, 0, sizeof(attr));
	fd = syscall(__NR_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	if (fd >= 0)
		close((int)fd);
	if (fd < 0 && errno == ENOSYS)
		set(&c, ST_FAIL, "use a kernel built with CONFIG_BPF_SYSCALL=y",
		    "no bpf(2) system call");
	else
		set(&c, ST_PASS, NULL, "bpf(2) system call present");
	with_config(s, &c, "CONFIG_BPF_SYSCALL");
	emit(s, &c);
}

static void check_jit(struct state *s)
{
	char buf[32];
	struct check c;

	check_init(&c, "jit");
	if (read_small_file("/proc/sys/net/core/bpf_jit_enable", buf,
			    sizeof(buf)) <= 0)
		set(&c, ST_WARN, "use a kernel built with CONFIG_BPF_JIT=y",
		    "no BPF JIT (/proc/sys/net/core/bpf_jit_enable missing): "
		    "programs run interpreted, slower");
	else if (buf[0] == '0')
		set(&c, ST_WARN, "sysctl -w net.core.bpf_jit_enable=1",
		    "BPF JIT disabled (net.core.bpf_jit_enable=0): programs "
		    "run interpreted, slower");
	else
		set(&c, ST_PASS, NULL, "BPF JIT enabled "
		    "(net.core.bpf_jit_enable=%.*s)", (int)strcspn(buf, "\n"),
		    buf);
	emit(s, &c);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void check_pmu(struct state *s, const char *name, const char *pmu,
		      const char *opt, const char *remedy)
{
	char path[128];
	struct check c;

	check_init(&c, name);
	snprintf(path, sizeof(path), "/sys/bus/event_source/devices/%s", pmu);
	if (exists(path))
		set(&c, ST_PASS, NULL, "%s PMU at %s", pmu, path);
	else
		set(&c, ST_FAIL, remedy, "no %s PMU (%s missing)", pmu, path);
	with_config(s, &c, opt);
	emit(s, &c);
}

static void check_perf(struct state *s)
{
	char buf[32];
	struct check c;

	check_init(&c, "perf");
	if (read_small_file("/proc/sys/kernel/perf_event_paranoid", buf,
			    sizeof(buf)) <= 0)
		set(&c, ST_FAIL, "use a kernel built with CONFIG_PERF_EVENTS=y",
		    "no perf events (/proc/sys/kernel/perf_event_paranoid "
		    "missing)");
	else
		set(&c, ST_PASS, NULL, "perf events present; "
		    "perf_event_paranoid=%.*s does not limit root or "
		    "CAP_PERFMON", (int)strcspn(buf, "\n"), buf);
	with_config(s, &c, "CONFIG_PERF_EVENTS");
	emit(s, &c);
}

static void check_kprobes(struct state *s)
{
	struct check c;

	check_init(&c, "kprobes");
	if (exists("/sys/bus/event_source/devices/kprobe"))
		set(&c, ST_INFO, NULL, "available; not used: the tools need "
		    "only uprobes and tracepoints");
	else
		set(&c, ST_INFO, NULL, "not available; not needed: the tools "
		    "use only uprobes and tracepoints");
	with_config(s, &c, "CONFIG_KPROBES");
	emit(s, &c);
}

static void check_btf(struct state *s)
{
	struct check c;

	check_init(&c, "btf");
	set(&c, ST_INFO, NULL, "%s; not needed: the programs compile against "
	    "kernel headers and read no kernel structures",
	    exists("/sys/kernel/btf/vmlinux") ? "/sys/kernel/btf/vmlinux present"
					       : "no /sys/kernel/btf/vmlinux");
	emit(s, &c);
}

/* ---- host ---- */

/* UTS_RELEASE of the header trees under /lib/modules/R. */
static bool headers_release(const struct state *s, char *out, size_t len)
{
	static const char *const dirs[] = { "build", "source" };
	char path[512], buf[4096], *p, *q;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "/lib/modules/%s/%s/include/"
			 "generated/utsrelease.h", s->u.release, dirs[i]);
		if (read_small_file(path, buf, sizeof(buf)) <= 0)
			continue;
		p = strchr(buf, '"');
		q = p ? strchr(p + 1, '"') : NULL;
		if (!q)
			continue;
		snprintf(out, len, "%.*s", (int)(q - p - 1), p + 1);
		return true;
	}
	return false;
}

/* "/lib/modules/R/build -> X, source -> Y": the trees that exist. */
static bool headers_where(const struct state *s, char *out, size_t len)
{
	static const char *const dirs[] = { "build", "source" };
	char path[300], target[512];
	size_t i, n;
	ssize_t got;

	out[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "/lib/modules/%s/%s", s->u.release,
			 dirs[i]);
		if (!exists(path))
			continue;
		got = readlink(path, target, sizeof(target) - 1);
		target[got > 0 ? got : 0] = '\0';
		n = strlen(out);
		snprintf(out + n, len - n, "%s%s%s%s", n ? ", " : "",
			 n ? dirs[i] : path, got > 0 ? " -> " : "", target);
	}
	return out[0] != '\0';
}

static void check_headers(struct state *s)
{
	char err[512], rel[128], where[2048];
	struct check c;

	check_init(&c, "headers");
	s->headers_ok = kernel_headers_check(err, sizeof(err)) == 0;
	if (!s->headers_ok)
		set(&c, ST_FAIL, "run contrib/setup-host.sh (links Debian's "
		    "linux-headers-amd64) or install this kernel's headers",
		    "no kernel headers for %s in /lib/modules/%s/build",
		    s->u.release, s->u.release);
	else if (!headers_where(s, where, sizeof(where)))
		set(&c, ST_PASS, NULL, "in-kernel headers "
		    "(/sys/kernel/kheaders.tar.xz)");
	else if (!headers_release(s, rel, sizeof(rel)))
		set(&c, ST_PASS, NULL, "%s (version unknown)", where);
	else if (strcmp(rel, s->u.release) == 0)
		set(&c, ST_PASS, NULL, "matching: %s", where);
	else
		set(&c, ST_PASS, NULL, "fallback: headers of %s for kernel %s "
		    "(%s); enough, the programs read no kernel structures",
		    rel, s->u.release, where);
	emit(s, &c);
}

/* From the mount table, so that it works without access to the mount. */
static bool tracefs_mounted(void)
{
	char line[1024], mnt[512], type[64];
	bool found = false;
	FILE *fp;

	fp = fopen("/proc/self/mountinfo", "re");
	if (!fp)
		return exists(TRACEFS "/events");
	while (!found && fgets(line, sizeof(line), fp)) {
		const char *dash = strstr(line, " - ");

		found = dash &&
			sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1 &&
			sscanf(dash, " - %63s", type) == 1 &&
			strcmp(mnt, TRACEFS) == 0 && strcmp(type, "tracefs") == 0;
	}
	fclose(fp);
	return found;
}

static void check_tracefs(struct state *s)
{
	static const char remedy[] = "mount -t tracefs nodev " TRACEFS
				     " (or run ckb-check --fix)";
	struct check c;
	int e;

	check_init(&c, "tracefs");
	if (tracefs_mounted()) {
		set(&c, ST_PASS, NULL, "mounted on " TRACEFS);
	} else if (!s->o.fix) {
		set(&c, ST_FAIL, remedy, "not mounted on " TRACEFS
		    " (tracepoint tools need it)");
	} else if (mount("nodev", TRACEFS, "tracefs", 0, NULL) == 0 &&
		   tracefs_mounted()) {
		set(&c, ST_PASS, NULL, "mounted on " TRACEFS " (by --fix)");
	} else {
		e = errno;
		set(&c, ST_FAIL, "mount -t tracefs nodev " TRACEFS " as root",
		    "not mounted on " TRACEFS ", and --fix could not mount "
		    "it: %s", strerror(e));
	}
	emit(s, &c);
}

static unsigned long long cap_eff(void)
{
	char buf[4096], *p;

	if (read_small_file("/proc/self/status", buf, sizeof(buf)) < 0)
		return 0;
	p = strstr(buf, "CapEff:");
	return p ? strtoull(p + 7, NULL, 16) : 0;
}

static void check_privileges(struct state *s)
{
	unsigned long long eff = cap_eff();
	struct check c;

	check_init(&c, "privileges");
	s->priv = have_bpf_privileges() == 0;
	if (!s->priv)
		set(&c, ST_FAIL, "run with sudo", "uid %d without CAP_BPF and "
		    "CAP_PERFMON, or CAP_SYS_ADMIN: cannot load BPF programs",
		    (int)geteuid());
	else if (geteuid() == 0)
		set(&c, ST_PASS, NULL, "root");
	else
		set(&c, ST_PASS, NULL, "uid %d with %s", (int)geteuid(),
		    (eff & (1ull << 21)) ? "CAP_SYS_ADMIN" :
		    "CAP_BPF and CAP_PERFMON");
	emit(s, &c);
}

static void fmt_limit(char *buf, size_t len, rlim_t v)
{
	if (v == RLIM_INFINITY)
		snprintf(buf, len, "unlimited");
	else
		fmt_bytes(buf, len, (uint64_t)v);
}

static void check_memlock(struct state *s)
{
	struct rlimit rl;
	struct check c;
	char cur[16];

	check_init(&c, "memlock");
	getrlimit(RLIMIT_MEMLOCK, &rl);
	fmt_limit(cur, sizeof(cur), rl.rlim_cur);
	if (s->kmajor > 5 || (s->kmajor == 5 && s->kminor >= 11))
		set(&c, ST_INFO, NULL, "RLIMIT_MEMLOCK %s; not used for BPF "
		    "memory since Linux 5.11 (memory cgroup accounting)", cur);
	else if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (64u << 20))
		set(&c, ST_PASS, NULL, "RLIMIT_MEMLOCK %s", cur);
	else
		set(&c, ST_WARN, "ulimit -l unlimited (LimitMEMLOCK=infinity "
		    "in a systemd unit)", "RLIMIT_MEMLOCK %s may be too "
		    "small for BPF maps before Linux 5.11", cur);
	emit(s, &c);
}

static void check_libbcc(struct state *s)
{
	static const struct bpf_prog_req progs[] = {
		{ "check_prog", BPF_PROG_TYPE_KPROBE, -1 },
	};
	const char *cflags[1];
	/* never from the cache: this check is about compiling */
	struct bpf_build b = {
		.text = check_bpf_text, .cflags = cflags, .ncflags = 1,
		.progs = progs, .nprogs = 1, .no_cache = true,
	};
	struct bpf_obj obj;
	char err[512];
	struct check c;
	uint64_t t0;
	int rc;

	check_init(&c, "libbcc");
	if (!s->headers_ok) {
		set(&c, ST_FAIL, "install kernel headers (see headers)",
		    "cannot compile without kernel headers");
		emit(s, &c);
		return;
	}
	cflags[0] = s->priv ? "-DWITH_MAP=1" : "-DWITH_MAP=0";
	t0 = mono_ns();
	rc = bpf_build_load(&b, &obj, err, sizeof(err));
	if (!rc)
		set(&c, ST_PASS, NULL, "compiled and loaded a test program "
		    "%sin %.1f s", s->priv ? "with a map " : "",
		    (double)(mono_ns() - t0) / 1e9);
	else if (rc == -EPERM && !s->priv && strstr(err, "loading BPF"))
		set(&c, ST_PASS, NULL, "compiled a test program in %.1f s "
		    "(not loaded: needs the privileges above)",
		    (double)(mono_ns() - t0) / 1e9);
	else
		set(&c, ST_FAIL, "run ckb-check -v for the compiler output; "
		    "install libbpfcc (Debian: libbpfcc-dev)", "%s", err);
	if (!rc)
		bpf_obj_close(&obj);
	emit(s, &c);
}

/* ---- target ---- */

static void target_from_comm(struct state *s, struct check *c)
{
	char detail[160];
	int err = target_default_pid(&s->o.pid, detail, sizeof(detail));

	if (err == -ESRCH)
		set(c, ST_WARN, "start the node, or pass -p PID or -b PATH",
		    "%s", detail);
	else if (err)
		set(c, ST_FAIL, "pick one with -p PID", "%s", detail);
}

static void target_pid(struct state *s, struct check *c)
{
	int err = target_from_pid(&s->t, s->o.pid);

	if (err == -ESRCH)
		set(c, ST_FAIL, "check it with pgrep -x ckb",
		    "no process with PID %d", s->o.pid);
	else if (err)
		set(c, ST_FAIL, (err == -EACCES || err == -EPERM) && geteuid() ?
		    "run with sudo" : NULL, "cannot inspect PID %d: %s",
		    s->o.pid, strerror(-err));
	else
		s->have_target = true;
}

static void target_path(struct state *s, struct check *c)
{
	int err = target_from_path(&s->t, s->o.binary);

	if (err == -ENOENT)
		set(c, ST_FAIL, "pass the node executable or its librocksdb.so",
		    "no such file %s", s->o.binary);
	else if (err == -EISDIR)
		set(c, ST_FAIL, "pass the node executable or its librocksdb.so",
		    "%s is not a regular file", s->o.binary);
	else if (err)
		set(c, ST_FAIL, NULL, "cannot trace %s: %s", s->o.binary,
		    strerror(-err));
	else
		s->have_target = true;
}

static void check_target(struct state *s)
{
	struct check c;
	size_t n;
	int i;

	check_init(&c, "target");
	if (s->o.binary)
		target_path(s, &c);
	else if (!s->o.pid)
		target_from_comm(s, &c);
	if (!s->o.binary && s->o.pid)
		target_pid(s, &c);
	if (s->have_target) {
		if (s->t.pid)
			set(&c, ST_PASS, NULL, "PID %d (%s)", s->t.pid,
			    s->t.exe_shown);
		else
			set(&c, ST_PASS, NULL, "%s (every process using it)",
			    s->t.exe_shown);
		for (i = 0; i < s->t.nlibs; i++) {
			n = strlen(c.detail);
			snprintf(c.detail + n, sizeof(c.detail) - n, ", %s %s",
				 s->t.pid ? "maps" : "links", s->t.libs_shown[i]);
		}
	}
	emit(s, &c);
}

/* Why nothing resolved: ckb-rdblat's own explanation. */
static void unresolved(struct state *s, struct check *c)
{
	char what[1024], remedy[PATH_MAX + 64];

	catalog_explain(&s->r, &s->t, catalog_default_mask(), what,
			sizeof(what), remedy, sizeof(remedy));
	set(c, ST_FAIL, remedy, "%s", what);
}

static void list_ops(char *buf, size_t len, uint32_t mask)
{
	int i;

	buf[0] = '\0';
	for (i = 0; i < catalog_nops; i++)
		if (mask & (1u << i))
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
				 buf[0] ? "," : "", catalog_ops[i].name);
}

static void resolved_ok(struct state *s, struct check *c)
{
	uint32_t core = catalog_core(&s->r);
	uint32_t missing = resolution_missing(&s->r, core);
	char names[128], hint[PATH_MAX + 32];
	int i, sites = 0, ncore = __builtin_popcount(core);

	for (i = 0; i < s->r.nhits; i++)
		sites += s->r.hits[i].nsites;
	if (!missing) {
		set(c, ST_PASS, NULL, "%d/%d core operations resolved (%s, %d "
		    "probe sites in %d file%s)", ncore, ncore,
		    layer_choice_name(s->r.choice), sites, s->r.nfiles,
		    s->r.nfiles > 1 ? "s" : "");
		return;
	}
	list_ops(names, sizeof(names), missing);
	snprintf(hint, sizeof(hint), "see ckb-symbols %s", s->t.exe_shown);
	set(c, ST_WARN, hint, "%d/%d core operations resolved (%s): no "
	    "symbol for %s, ckb-rdblat will not see them",
	    ncore - __builtin_popcount(missing), ncore,
	    layer_choice_name(s->r.choice), names);
}

static void check_symbols(struct state *s)
{
	uint32_t all = (1u << catalog_nops) - 1;
	struct check c;
	int err;

	if (!s->have_target)
		return;
	check_init(&c, "symbols");
	err = catalog_resolve(&s->r, &s->t, all);
	if (err == -ENOEXEC)
		set(&c, ST_FAIL, "pass the node executable or librocksdb.so",
		    "%s is not an ELF file", s->t.exe_shown);
	else if (err)
		set(&c, ST_FAIL, NULL, "cannot read %s: %s", s->t.exe_shown,
		    strerror(-err));
	else if (resolution_missing(&s->r, all) == all)
		unresolved(s, &c);
	else
		resolved_ok(s, &c);
	s->resolved = c.st != ST_FAIL;
	emit(s, &c);
}

/* ---- --probe: a real ckb-rdblat run ---- */

struct run {
	bool started;
	char *out;		/* its stdout */
	size_t len;
	char err[512];		/* last line of its stderr */
	int status;
};

static int sibling(char *path, size_t len, const char *name)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0)
		return -errno;
	self[n] = '\0';
	snprintf(path, len, "%s/%s", dirname(self), name);
	return access(path, X_OK) == 0 ? 0 : -errno;
}

static int read_all(int fd, struct run *r, pid_t pid)
{
	struct pollfd p = { fd, POLLIN, 0 };
	uint64_t end = mono_ns() + (uint64_t)PROBE_TIMEOUT_MS * 1000000;
	char buf[4096], *n;
	ssize_t got;

	for (;;) {
		if (poll(&p, 1, 200) < 0 && errno != EINTR)
			return -errno;
		if (mono_ns() > end) {
			kill(pid, SIGTERM);
			return -ETIMEDOUT;
		}
		if (!(p.revents & (POLLIN | POLLHUP)))
			continue;
		got = read(fd, buf, sizeof(buf));
		if (got <= 0)
			return got < 0 ? -errno : 0;
		n = realloc(r->out, r->len + (size_t)got + 1);
		if (!n)
			return -ENOMEM;
		r->out = n;
		memcpy(r->out + r->len, buf, (size_t)got);
		r->len += (size_t)got;
		r->out[r->len] = '\0';
	}
}

static void last_line(int fd, char *out, size_t len)
{
	char buf[8192], *p, *line;
	ssize_t n;

	out[0] = '\0';
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	p = strrchr(buf, '\n');
	line = p ? p + 1 : buf;
	n = (ssize_t)strnlen(line, len - 1);
	memcpy(out, line, (size_t)n);
	out[n] = '\0';
}

static void child_exec(const char *path, char *const argv[], int out,
		       int errfd)
{
	int devnull = open("/dev/null", O_RDONLY);

	dup2(devnull, STDIN_FILENO);
	dup2(out, STDOUT_FILENO);
	dup2(errfd, STDERR_FILENO);
	execv(path, argv);
	dprintf(errfd, "ckb-check: cannot run %s: %s\n", path, strerror(errno));
	_exit(127);
}

static int run_rdblat(struct state *s, const char *path, struct run *r)
{
	char pid[16];
	char *argv[] = { (char *)path, s->t.pid ? "-p" : "-b", pid, "-j",
			 "-d", PROBE_SECONDS, NULL };
	int fds[2], errfd, rc;
	pid_t child;

	if (s->t.pid)
		snprintf(pid, sizeof(pid), "%d", s->t.pid);
	else
		argv[2] = s->t.exe_shown;
	errfd = memfd_create("rdblat-err", MFD_CLOEXEC);
	if (errfd < 0 || pipe2(fds, O_CLOEXEC) < 0) {
		rc = -errno;
		if (errfd >= 0)
			close(errfd);
		return rc;
	}
	fflush(NULL);
	child = fork();
	if (child == 0)
		child_exec(path, argv, fds[1], errfd);
	r->started = child > 0;
	close(fds[1]);
	rc = child < 0 ? -errno : read_all(fds[0], r, child);
	close(fds[0]);
	if (child > 0 && waitpid(child, &r->status, 0) < 0)
		rc = rc ? rc : -errno;
	last_line(errfd, r->err, sizeof(r->err));
	close(errfd);
	return rc;
}

/* Sum and list the "counts" of ckb-rdblat's summary line. */
static long long summary_counts(const char *out, char *list, size_t len)
{
	const char *p = strstr(out ? out : "", "\"type\":\"summary\"");
	char name[32];
	long long v, total = 0;
	int used;

	list[0] = '\0';
	p = p ? strstr(p, "\"counts\":{") : NULL;
	if (!p)
		return -1;
	p += 10;
	while (sscanf(p, "\"%31[^\"]\":%lld%n", name, &v, &used) == 2) {
		total += v;
		if (v)
			snprintf(list + strlen(list), len - strlen(list),
				 "%s%s %lld", list[0] ? ", " : "", name, v);
		p += used;
		if (*p != ',')
			break;
		p++;
	}
	return total;
}

static int start_probes(const char *out)
{
	const char *p = strstr(out ? out : "", "\"probes\":");

	return p ? atoi(p + 9) : 0;
}

static void probe_failed(struct check *c, const struct run *r, int rc)
{
	const char *why = r->err;

	if (strncmp(why, "ckb-rdblat: ", 12) == 0)
		why += 12;
	if (why[0])
		set(c, ST_FAIL, NULL, "ckb-rdblat failed: %s", why);
	else
		set(c, ST_FAIL, "run ckb-rdblat -v by hand to see why",
		    "ckb-rdblat failed: %s", rc ? strerror(-rc) :
		    "no summary line");
}

static void check_probe(struct state *s, struct run *r)
{
	char path[PATH_MAX], list[512];
	struct check c;
	long long total;
	int rc;

	check_init(&c, "probe");
	if (!s->have_target || !s->resolved) {
		set(&c, ST_FAIL, "pass -p PID or -b PATH of a RocksDB program",
		    "nothing to probe: no target with RocksDB symbols");
		emit(s, &c);
		return;
	}
	rc = sibling(path, sizeof(path), "ckb-rdblat");
	if (rc) {
		set(&c, ST_FAIL, "install ckb-rdblat next to ckb-check",
		    "cannot run %s: %s", path, strerror(-rc));
		emit(s, &c);
		return;
	}
	rc = run_rdblat(s, path, r);
	total = summary_counts(r->out, list, sizeof(list));
	if (rc || !WIFEXITED(r->status) || WEXITSTATUS(r->status) || total < 0)
		probe_failed(&c, r, rc);
	else if (!total)
		set(&c, ST_WARN, "probe again while the node is busy",
		    "ckb-rdblat attached %d probes and saw no RocksDB "
		    "operations in " PROBE_SECONDS " s", start_probes(r->out));
	else
		set(&c, ST_PASS, NULL, "ckb-rdblat attached %d probes and saw "
		    "%lld operations in " PROBE_SECONDS " s: %s",
		    start_probes(r->out), total, list);
	c.count = total < 0 ? 0 : total;
	emit(s, &c);
}

/* ---- after --probe: nothing left attached ---- */

/* The live first byte at file offset off of the file with inode ino
 * mapped into pid; 0, or -ENOENT when it is not mapped there. */
static int live_byte(pid_t pid, ino_t ino, uint64_t off, unsigned char *b)
{
	unsigned long long start, end, moff, inode;
	char path[64], line[PATH_MAX + 128];
	int fd, rc = -ENOENT;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	fp = fopen(path, "re");
	if (!fp)
		return -errno;
	while (rc == -ENOENT && fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "%llx-%llx %*s %llx %*s %llu", &start, &end,
			   &moff, &inode) != 4 || inode != (unsigned long long)ino ||
		    off < moff || off >= moff + (end - start))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/mem", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || pread(fd, b, 1, (off_t)(start + off - moff)) != 1)
			rc = -EIO;
		else
			rc = 0;
		if (fd >= 0)
			close(fd);
	}
	fclose(fp);
	return rc;
}

/* Probe sites whose live byte is a breakpoint the file does not have. */
static int stale_sites(const struct state *s, int *checked)
{
	const struct catalog_hit *h;
	const struct elf_file *f;
	unsigned char live, disk;
	struct stat st;
	int i, k, stale = 0;

	*checked = 0;
	for (i = 0; i < s->r.nhits; i++) {
		h = &s->r.hits[i];
		f = &s->r.files[h->file];
		if (fstat(f->fd, &st) < 0)
			continue;
		for (k = 0; k < h->nsites; k++) {
			if (pread(f->fd, &disk, 1, (off_t)h->offset[k]) != 1 ||
			    live_byte(s->t.pid, st.st_ino, h->offset[k],
				      &live) != 0)
				continue;
			(*checked)++;
			stale += live == 0xcc && disk != 0xcc;
		}
	}
	return stale;
}

static bool uprobe_events_clean(const struct state *s, bool *readable)
{
	char buf[65536];
	const char *base = strrchr(s->t.exe_shown, '/');

	*readable = read_small_file(TRACEFS "/uprobe_events", buf,
				    sizeof(buf)) >= 0;
	return !*readable || !strstr(buf, base ? base + 1 : s->t.exe_shown);
}

static void check_detach(struct state *s, const struct run *r)
{
	struct check c;
	bool readable, clean;
	int stale = 0, checked = 0;

	if (!r->started || !strstr(r->out ? r->out : "", "\"type\":\"start\""))
		return;
	check_init(&c, "detach");
	clean = uprobe_events_clean(s, &readable);
	if (s->t.pid && target_alive(&s->t))
		stale = stale_sites(s, &checked);
	if (stale || !clean)
		set(&c, ST_FAIL, "look for leftover perf event fds (ls -l "
		    "/proc/*/fd | grep perf_event) and " TRACEFS
		    "/uprobe_events", "%d of %d probe sites in PID %d still "
		    "hold a breakpoint%s", stale, checked, s->t.pid,
		    clean ? "" : "; uprobe_events names the target");
	else if (checked)
		set(&c, ST_PASS, NULL, "nothing left attached: all %d probe "
		    "sites in PID %d match the file%s", checked, s->t.pid,
		    readable ? ", uprobe_events names none" : "");
	else
		set(&c, ST_INFO, NULL, "no process to inspect (-b): %s",
		    readable ? "uprobe_events names none" :
		    "ckb-rdblat exited, closing its probes");
	emit(s, &c);
}

/* ---- main ---- */

static void parse_release(struct state *s)
{
	uname(&s->u);
	if (sscanf(s->u.release, "%d.%d", &s->kmajor, &s->kminor) != 2)
		s->kmajor = s->kminor = 0;
}

static void summary(struct state *s)
{
	if (!s->o.json)
		return;
	printf("{\"type\":\"summary\",\"pass\":%d,\"warn\":%d,\"fail\":%d,"
	       "\"info\":%d}\n", s->counts[ST_PASS], s->counts[ST_WARN],
	       s->counts[ST_FAIL], s->counts[ST_INFO]);
}

int main(int argc, char **argv)
{
	static struct state s;
	struct run r = { 0 };

	prog_name = "ckb-check";
	parse_opts(&s.o, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	parse_release(&s);
	load_config(&s);
	check_kernel(&s);
	check_bpf(&s);
	check_jit(&s);
	check_pmu(&s, "uprobes", "uprobe", "CONFIG_UPROBE_EVENTS",
		  "use a kernel with CONFIG_UPROBE_EVENTS=y (Linux 4.17+)");
	check_pmu(&s, "tracepoints", "tracepoint", "CONFIG_TRACEPOINTS",
		  "use a kernel with CONFIG_TRACEPOINTS=y");
	check_perf(&s);
	check_kprobes(&s);
	check_btf(&s);
	check_headers(&s);
	check_tracefs(&s);
	check_privileges(&s);
	check_memlock(&s);
	check_libbcc(&s);
	check_target(&s);
	check_symbols(&s);
	if (s.o.probe) {
		check_probe(&s, &r);
		check_detach(&s, &r);
	}
	summary(&s);
	free(r.out);
	free(s.config);
	resolution_free(&s.r);
	return s.counts[ST_FAIL] ? 1 : 0;
}
