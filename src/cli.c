#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

void usage_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see %s --help\n", prog_name);
	exit(EXIT_USAGE);
}

pid_t cli_pid(const char *s)
{
	uint64_t v;

	if (parse_u64(s, 1, 0x3fffffff, &v) != 0)
		usage_fail("bad PID '%s': want a process id", s);
	return (pid_t)v;
}

double cli_seconds(const char *what, const char *s)
{
	double v;

	if (parse_seconds(s, 86400.0 * 365, &v) != 0)
		usage_fail("bad %s '%s': want seconds > 0", what, s);
	return v;
}

void cli_report_init(struct cli_report *r)
{
	memset(r, 0, sizeof(*r));
	r->interval = 1;
	r->div = 1e3;
	r->unit = "us";
}

bool cli_report_opt(struct cli_report *r, int opt, const char *arg,
		    const char *usage, const char *own)
{
	if (opt != '?' && opt != ':' && strchr(own, opt))
		return false;
	switch (opt) {
	case 'i':
		r->interval = cli_seconds("interval", arg);
		return true;
	case 'd':
	case 'D':
		r->duration = cli_seconds("duration", arg);
		return true;
	case 'T': r->timestamp = true; return true;
	case 'm': r->div = 1e6; r->unit = "ms"; return true;
	case 'u': r->div = 1e3; r->unit = "us"; return true;
	case 'j': r->json = true; return true;
	case 'H': r->hist = true; return true;
	case 'v': verbose = 1; return true;
	case 'E': r->ebpf = true; return true;
	case 'h':
		fputs(usage, stdout);
		exit(0);
	}
	fprintf(stderr, "%s: see %s --help\n", prog_name, prog_name);
	exit(EXIT_USAGE);
}

void cli_report_args(struct cli_report *r, int argc, char **argv)
{
	if (optind < argc)
		r->interval = cli_seconds("interval", argv[optind++]);
	if (optind < argc &&
	    parse_u64(argv[optind++], 1, UINT64_MAX, &r->count) != 0)
		usage_fail("bad count '%s': want a whole number >= 1",
			   argv[optind - 1]);
	if (optind < argc)
		usage_fail("unexpected argument '%s'", argv[optind]);
}

void cli_signals(void (*handler)(int), bool restart)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* A pipe whose reader has gone polls as an error before anything is
 * written to it. */
static bool out_closed(void)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

const char *run_over(const struct target *t, uint64_t begin_ns,
		     double duration)
{
	switch (target_state(t)) {
	case TARGET_EXITED:
		return "target exited";
	case TARGET_EXECED:
		return "target exec";
	case TARGET_RUNNING:
		break;
	}
	if (out_closed())
		return "output closed";
	if (duration && mono_ns() - begin_ns >= (uint64_t)(duration * 1e9))
		return "duration";
	return NULL;
}

static int out_err;

int out_flush(void)
{
	errno = 0;
	if (!out_err && (fflush(stdout) != 0 || ferror(stdout)))
		out_err = errno ? -errno : -EIO;
	return out_err;
}

int run_end(const struct target *t, const char *reason)
{
	char exe[PATH_MAX], link[64];
	ssize_t n;
	int err = out_flush();

	if (err == -EPIPE || (reason && strcmp(reason, "output closed") == 0))
		return 0;
	if (err) {
		msg("cannot write the output: %s; %s", strerror(-err),
		    err == -ENOSPC || err == -EDQUOT ? "free some space or "
		    "write it elsewhere" : "check where standard output goes");
		return 1;
	}
	if (!reason)
		return 0;
	if (strcmp(reason, "target exited") == 0) {
		msg("process %d exited; stopping", t->pid);
		return 1;
	}
	if (strcmp(reason, "target exec") == 0) {
		snprintf(link, sizeof(link), "/proc/%d/exe", t->pid);
		n = readlink(link, exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = '\0';
		msg("process %d now runs %s (it called exec); stopping",
		    t->pid, n > 0 ? exe : "another program");
		return 1;
	}
	return 0;
}

int cli_privileged(void)
{
	if (have_bpf_privileges() == 0)
		return 0;
	msg("need root (or CAP_BPF with CAP_PERFMON) to load BPF programs; "
	    "run with sudo");
	return -EPERM;
}
