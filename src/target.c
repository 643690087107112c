#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "target.h"
#include "util.h"

static bool is_rocksdb_lib(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return strncmp(base, "librocksdb", 10) == 0 && strstr(base, ".so");
}

static void add_lib(struct target *t, const char *mapped)
{
	char path[PATH_MAX];
	int i;

	if (snprintf(path, sizeof(path), "/proc/%d/root%s", t->pid, mapped) >=
	    (int)sizeof(path))
		return;
	for (i = 0; i < t->nlibs; i++)
		if (strcmp(t->libs[i], path) == 0)
			return;
	if (t->nlibs < TARGET_MAX_LIBS)
		strcpy(t->libs[t->nlibs++], path);
}

static int scan_maps(struct target *t)
{
	char path[64], line[PATH_MAX + 128], *file;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/maps", t->pid);
	fp = fopen(path, "re");
	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = '\0';
		file = strchr(line, '/');
		if (file && is_rocksdb_lib(file) && !strstr(file, " (deleted)"))
			add_lib(t, file);
	}
	fclose(fp);
	return 0;
}

int target_from_pid(struct target *t, pid_t pid)
{
	struct stat st;
	char link[64];
	ssize_t n;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	if (pid <= 0 || kill(pid, 0) < 0) {
		if (pid > 0 && errno == EPERM)
			return -EACCES;
		return -ESRCH;
	}
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, t->exe_shown, sizeof(t->exe_shown) - 1);
	if (n < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	t->exe_shown[n] = '\0';
	strcpy(t->exe, link);
	if (stat(link, &st) == 0) {
		t->exe_dev = st.st_dev;
		t->exe_ino = st.st_ino;
	}
	return scan_maps(t);
}

int target_from_path(struct target *t, const char *path)
{
	struct stat st;

	memset(t, 0, sizeof(*t));
	if (strlen(path) >= sizeof(t->exe))
		return -ENAMETOOLONG;
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EISDIR;
	if (!realpath(path, t->exe))
		return -errno;
	strcpy(t->exe_shown, t->exe);
	return 0;
}

int target_find_comm(const char *name, pid_t *pids, int max)
{
	char path[64], comm[64];
	struct dirent *de;
	DIR *d;
	int found = 0;
	long pid;

	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtol(de->d_name, NULL, 10);
		if (pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
		if (read_small_file(path, comm, sizeof(comm)) <= 0)
			continue;
		comm[strcspn(comm, "\n")] = '\0';
		if (strcmp(comm, name) != 0)
			continue;
		if (found < max)
			pids[found] = (pid_t)pid;
		found++;
	}
	closedir(d);
	return found;
}

static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

bool target_is_zombie(pid_t pid)
{
	return proc_state(pid) == 'Z';
}

enum target_state target_state(const struct target *t)
{
	char path[64], st;
	struct stat sb;

	if (!t->pid)
		return TARGET_RUNNING;
	st = proc_state(t->pid);
	if (!st || st == 'Z' || st == 'X')
		return TARGET_EXITED;
	snprintf(path, sizeof(path), "/proc/%d/exe", t->pid);
	if ((t->exe_dev || t->exe_ino) && stat(path, &sb) == 0 &&
	    (sb.st_dev != t->exe_dev || sb.st_ino != t->exe_ino))
		return TARGET_EXECED;
	return TARGET_RUNNING;
}

bool target_alive(const struct target *t)
{
	return target_state(t) == TARGET_RUNNING;
}

int target_default_pid(pid_t *pid, char *detail, size_t len)
{
	pid_t pids[8];
	size_t used;
	int n, i;

	n = target_find_comm(TARGET_DEFAULT_COMM, pids, 8);
	if (n <= 0) {
		snprintf(detail, len, "no process named %s",
			 TARGET_DEFAULT_COMM);
		return -ESRCH;
	}
	if (n > 1) {
		snprintf(detail, len, "%d processes named %s (PIDs", n,
			 TARGET_DEFAULT_COMM);
		for (i = 0; i < n && i < 8; i++) {
			used = strlen(detail);
			snprintf(detail + used, len - used, " %d", pids[i]);
		}
		used = strlen(detail);
		snprintf(detail + used, len - used, ")");
		return -EEXIST;
	}
	*pid = pids[0];
	return 0;
}
