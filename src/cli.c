#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

bool cli_session_opt(struct session *ss, int opt, const char *arg)
{
	char bad[64];

	switch (opt) {
	case 'p':
		ss->pid = cli_pid(arg);
		return true;
	case 'b':
		ss->binary = arg;
		return true;
	case 'o':
		if (catalog_parse_ops(arg, &ss->mask, bad, sizeof(bad)) != 0)
			usage_fail("unknown operation '%s'", bad);
		ss->explicit_ops = true;
		return true;
	}
	return false;
}

void cli_session_check(const struct session *ss)
{
	(void)ss;
}

void cli_signals(void (*handler)(int), bool restart)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

const char *run_over(const struct target *t, uint64_t begin_ns,
		     double duration)
{
	if (!target_alive(t))
		return "target exited";
	if (duration && mono_ns() - begin_ns >= (uint64_t)(duration * 1e9))
		return "duration";
	return NULL;
}

int cli_privileged(void)
{
	if (have_bpf_privileges() == 0)
		return 0;
	msg("need root (or CAP_BPF with CAP_PERFMON) to load BPF programs; "
	    "run with sudo");
	return -EPERM;
}
