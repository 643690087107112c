#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "elfsym.h"
#include "follow.h"
#include "report.h"
#include "util.h"

/* The executable of pid as a path, " (deleted)" removed: 0 or -errno. */
static int exe_path(pid_t pid, char *out, size_t len)
{
	char link[64], *del;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, out, len - 1);
	if (n < 0)
		return -errno;
	out[n] = '\0';
	del = strstr(out, " (deleted)");
	if (del && del[10] == '\0')
		*del = '\0';
	return 0;
}

static int comm_of(pid_t pid, char *out, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (read_small_file(path, out, len) <= 0)
		return -ESRCH;
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

int follow_build_id(pid_t pid, char *out)
{
	struct elf_file ef;
	char path[64];
	int err;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	err = elf_open(&ef, path);
	if (err)
		return err;
	strcpy(out, ef.build_id);
	elf_close(&ef);
	return 0;
}

int follow_init(struct follow *f, const struct target *t, bool by_comm)
{
	int err;

	memset(f, 0, sizeof(*f));
	f->by_comm = by_comm;
	f->pid = t->pid;
	err = comm_of(t->pid, f->comm, sizeof(f->comm));
	if (!err)
		err = exe_path(t->pid, f->exe, sizeof(f->exe));
	if (!err)
		err = follow_build_id(t->pid, f->build_id);
	return err;
}

void follow_lost(struct follow *f, uint64_t now_ns)
{
	f->old_pid = f->pid;
	f->pid = 0;
	f->gone_ns = now_ns;
}

/* Running, not a zombie, and past exec (its comm is the one wanted). */
static bool alive(pid_t pid)
{
	struct target t = { .pid = pid };

	return target_alive(&t);
}

pid_t follow_find(const struct follow *f)
{
	char comm[32], exe[PATH_MAX];
	struct dirent *de;
	pid_t pid, found = 0;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)strtol(de->d_name, NULL, 10);
		if (pid == f->old_pid || pid == f->skip_pid || pid == getpid())
			continue;
		/* the name first: one small read, no ELF, for most PIDs */
		if (comm_of(pid, comm, sizeof(comm)) || strcmp(comm, f->comm))
			continue;
		if (!f->by_comm &&
		    (exe_path(pid, exe, sizeof(exe)) || strcmp(exe, f->exe)))
			continue;
		if (alive(pid))
			found = pid;
	}
	closedir(d);
	return found;
}

/* When pid started, in CLOCK_BOOTTIME nanoseconds, or 0. */
static uint64_t start_ns(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small_file(path, buf, sizeof(buf)) <= 0 || hz <= 0)
		return 0;
	p = strrchr(buf, ')');
	/* field 22, starttime; p points at the end of field 2 */
	for (i = 2; p && i < 22; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &ticks) != 1)
		return 0;
	return (uint64_t)(ticks * (1000000000.0 / (double)hz));
}

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void follow_attached(struct follow *f, pid_t pid, const char *build_id,
		     bool rebuilt, uint64_t now_ns, struct follow_gap *g)
{
	uint64_t st = start_ns(pid), bt = boot_ns();

	g->old_pid = f->old_pid;
	g->pid = pid;
	g->rebuilt = rebuilt;
	g->gap_ns = now_ns - f->gone_ns;
	g->lag_ns = st && bt >= st ? (int64_t)(bt - st) : -1;
	f->pid = pid;
	f->restarts++;
	f->untraced_ns += g->gap_ns;
	snprintf(f->build_id, sizeof(f->build_id), "%s", build_id);
	exe_path(pid, f->exe, sizeof(f->exe));
}

int follow_wait_default(volatile sig_atomic_t *stop, char *detail,
			size_t len)
{
	struct timespec nap = { 0, 100 * 1000 * 1000 };
	bool said = false;
	pid_t pid;
	int err;

	for (;;) {
		err = target_default_pid(&pid, detail, len);
		if (err != -ESRCH)
			return err;
		if (*stop)
			return -EINTR;
		if (!said)
			msg("no process named %s yet; waiting for one (--follow)",
			    TARGET_DEFAULT_COMM);
		said = true;
		nanosleep(&nap, NULL);
	}
}

void follow_failed(struct follow *f, pid_t pid)
{
	f->fails = f->fail_pid == pid ? f->fails + 1 : 1;
	f->fail_pid = pid;
	if (f->fails >= FOLLOW_TRIES) {
		msg("PID %d cannot be traced (see above); waiting for another",
		    pid);
		f->skip_pid = pid;
	}
}

void follow_report(const struct follow *f, const struct follow_gap *g,
		   const char *exe, int probes, bool json)
{
	struct timeval tv;

	msg("PID %d (%s) attached %llu ms after PID %d exited%s", g->pid, exe,
	    (unsigned long long)(g->gap_ns / 1000000), g->old_pid,
	    g->rebuilt ? "; a new build, symbols resolved again" : "");
	if (!json)
		return;
	gettimeofday(&tv, NULL);
	printf("{\"type\":\"reattach\",\"ts\":%ld.%06ld,\"pid\":%d,"
	       "\"old_pid\":%d,\"binary\":", (long)tv.tv_sec, (long)tv.tv_usec,
	       g->pid, g->old_pid);
	json_string(stdout, exe);
	printf(",\"build_id\":\"%s\",\"rebuilt\":%s,\"gap_ms\":%.1f,"
	       "\"lag_ms\":%.1f,\"probes\":%d,\"restarts\":%llu}\n",
	       f->build_id, g->rebuilt ? "true" : "false",
	       /* cut to 0.1 ms, not rounded: its whole milliseconds are
		* the untraced_ms the next interval reports */
	       (double)(g->gap_ns / 100000) / 10,
	       g->lag_ns < 0 ? -1.0 : (double)g->lag_ns / 1e6, probes,
	       (unsigned long long)f->restarts);
	fflush(stdout);
}
