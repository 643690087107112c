/* What to trace: a process (-p), a file (-b), or the one process named
 * "ckb" -> the ELF files to probe. */
#ifndef CKBTRACE_TARGET_H
#define CKBTRACE_TARGET_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define TARGET_MAX_LIBS 4

struct target {
	pid_t pid;			/* 0: every process mapping the file */
	char exe[PATH_MAX];		/* path to open and probe */
	char exe_shown[PATH_MAX];	/* path as the user knows it */
	int nlibs;
	char libs[TARGET_MAX_LIBS][PATH_MAX];	/* mapped librocksdb*.so */
	dev_t exe_dev;			/* the executable the process ran */
	ino_t exe_ino;			/* when found (0, 0: unknown) */
};

/* A running process: its executable through /proc/PID/exe (the running
 * inode, even if replaced on disk) and every librocksdb it maps, through
 * /proc/PID/root so containers work.  0, -ESRCH, -EACCES, -errno. */
int target_from_pid(struct target *t, pid_t pid);

/* A file on disk: an executable or a shared library.  0 or -errno. */
int target_from_path(struct target *t, const char *path);

/* What the user named: -p PID, -b PATH, or neither. */
struct target_opts {
	pid_t pid;
	const char *binary;
};

/* The process name tools look for when given neither -p nor -b. */
#define TARGET_DEFAULT_COMM "ckb"

/* The one process named TARGET_DEFAULT_COMM: 0 with *pid set, or -ESRCH
 * ("no process named ckb") or -EEXIST ("2 processes named ckb (PIDs 1
 * 2)") with that text in detail. */
int target_default_pid(pid_t *pid, char *detail, size_t len);

/* PIDs whose comm is exactly name (pgrep -x); count found, at most max
 * stored. */
int target_find_comm(const char *name, pid_t *pids, int max);

/* Has process pid exited without being reaped (a zombie: no threads)? */
bool target_is_zombie(pid_t pid);

enum target_state {
	TARGET_RUNNING,		/* the program it ran when found */
	TARGET_EXITED,		/* gone, or a zombie */
	TARGET_EXECED,		/* there, but exec()ed another executable */
};

/* What became of the traced process (always running without a PID). */
enum target_state target_state(const struct target *t);

/* Is the traced process still there and running the same executable
 * (always true without a PID)? */
bool target_alive(const struct target *t);

#endif
