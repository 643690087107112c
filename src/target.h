/* What to trace: a process (-p), a file (-b), both, or the one process
 * named "ckb" -> the ELF files to probe. */
#ifndef CKBTRACE_TARGET_H
#define CKBTRACE_TARGET_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define TARGET_MAX_LIBS 8

struct target {
	pid_t pid;			/* 0: every process mapping the file */
	char exe[PATH_MAX];		/* path to open and probe */
	char exe_shown[PATH_MAX];	/* path as the user knows it */
	int nlibs;
	char libs[TARGET_MAX_LIBS][PATH_MAX];	/* other objects with RocksDB */
	char libs_shown[TARGET_MAX_LIBS][PATH_MAX];
	char needed[128];		/* a file's DT_NEEDED librocksdb, or "" */
	int nobjects;			/* mapped objects looked at (-p) */
	int nopaque;			/* mapped objects without symbols */
	char opaque[TARGET_MAX_LIBS][PATH_MAX];	/* (stripped, no debug file) */
	dev_t exe_dev;			/* the executable the process ran */
	ino_t exe_ino;			/* when found (0, 0: unknown) */
};

/* A running process: its executable through /proc/PID/exe (the running
 * inode, even if replaced on disk) and every other object it maps that
 * defines RocksDB functions (libraries, plugins, a JNI library extracted
 * and deleted), found by their symbols, through /proc/PID/root so that
 * containers work.  0, -ESRCH, -EACCES, -errno. */
int target_from_pid(struct target *t, pid_t pid);

/* A file on disk: an executable or a shared library.  A dynamically
 * linked executable brings the librocksdb it needs, found as the dynamic
 * linker would (its run path, then the system directories).  0 or
 * -errno. */
int target_from_path(struct target *t, const char *path);

/* One object a process maps (-p PID -b PATH): probed in that process
 * only.  0, -ESRCH, -ENXIO (the process does not map it), -errno. */
int target_from_pid_path(struct target *t, pid_t pid, const char *path);

/* Call fn once for each ELF object process pid maps executable (each
 * inode once): the path to open it by (through /proc/PID/root, or
 * /proc/PID/map_files for a deleted file) and the path the process knows
 * it by.  Stops when fn returns non-zero and returns that; -errno when
 * the maps cannot be read. */
int target_map_objects(pid_t pid,
		       int (*fn)(const char *open_path, const char *shown,
				 dev_t dev, ino_t ino, void *arg),
		       void *arg);

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

/* Does the ELF file at path define RocksDB functions (rocksdb_* or
 * rocksdb::), in its own symbol tables or its debug file's?  Answers are
 * kept per build-id, in memory and in $CKBTRACE_OBJECTS_CACHE (default
 * /var/cache/ckbtrace-objects). */
bool target_has_rocksdb(const char *path);

#endif
