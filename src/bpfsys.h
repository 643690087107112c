/* The bpf(2) and perf_event_open(2) calls the long-running process makes
 * itself, so it never links libbcc: maps, the one loader of compiled
 * images, and attaching programs to uprobes, tracepoints and sampling
 * perf events. */
#ifndef CKBTRACE_BPFSYS_H
#define CKBTRACE_BPFSYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

union bpf_attr;

/* bpf(2): its result, or -errno. */
int sys_bpf(int cmd, union bpf_attr *attr);

/* 0 or -errno. */
int bpf_map_get(int fd, const void *key, void *value);
int bpf_map_set(int fd, const void *key, const void *value);
int bpf_map_del(int fd, const void *key);

/* Type, key size and max_entries of a map: 0 or -errno. */
int bpf_map_info_get(int fd, uint32_t *type, uint32_t *max_entries);

/* Runs of a loaded program the kernel skipped because another BPF
 * program was running on that CPU, or a BPF map call from user space was
 * (recursion_misses: kernels that do not count it for tracepoints say 0).
 * 0 or -errno. */
int bpf_prog_skipped(int fd, uint64_t *skipped);

/* Key and value size of a map: 0 or -errno. */
int bpf_map_sizes(int fd, uint32_t *key_size, uint32_t *value_size);

/* Hand every element of a hash map to fn: in batches (Linux 5.6+), or
 * key by key.  An element added or removed meanwhile may be missed; one
 * nobody touches is seen exactly once.  0, -errno, or what fn returned
 * when not 0 (the walk stops). */
int bpf_map_dump(int fd, int (*fn)(const void *key, const void *value,
				   void *arg), void *arg);

/* Delete n keys, each key_size bytes, stored one after the other.
 * 0 or -errno. */
int bpf_map_del_keys(int fd, const void *keys, uint32_t key_size,
		     uint32_t n);

/* Sum of a per-CPU u64 value over every possible CPU: 0 or -errno. */
int bpf_map_sum_u64(int fd, const void *key, uint64_t *sum);

/* The largest per-CPU u64 value; with reset, every CPU's value is set to
 * 0 afterwards.  0 or -errno. */
int bpf_map_max_u64(int fd, const void *key, uint64_t *max, bool reset);

/* Possible CPUs: the number of values of a per-CPU map (cached). */
int bpf_ncpus(void);

/* ---- compiled programs, loaded ---- */

#define IMAGE_NAME_LEN 64
#define IMAGE_MAX_MAPS 64
#define IMAGE_MAX_PROGS 128

struct image_map {
	char name[IMAGE_NAME_LEN];
	uint32_t type, key_size, value_size, max_entries, flags;
	int32_t fd;		/* the fd the bytecode refers to */
};

struct image_prog {
	char name[IMAGE_NAME_LEN];
	uint32_t type;		/* BPF_PROG_TYPE_* */
	int32_t attach_type;	/* expected attach type, or -1 */
	uint32_t ninsns;
	uint64_t *insns;	/* struct bpf_insn, 8 bytes each; owned */
};

/* What a compile produced, or a cache entry holds: bytecode referring to
 * maps by the fds they had where they were made. */
struct bpf_image {
	char key[48];		/* the cache entry it was stored as, or "" */
	char license[16];
	uint32_t kern_version;
	int nmaps, nprogs;
	struct image_map maps[IMAGE_MAX_MAPS];
	struct image_prog progs[IMAGE_MAX_PROGS];
};

void image_free(struct bpf_image *img);

/* The programs and maps of a loaded image, by name. */
struct bpf_obj {
	int nprogs, nmaps;
	char prog_names[IMAGE_MAX_PROGS][IMAGE_NAME_LEN];
	int prog_fds[IMAGE_MAX_PROGS];
	char map_names[IMAGE_MAX_MAPS][IMAGE_NAME_LEN];
	int map_fds[IMAGE_MAX_MAPS];
};

/* The one loader, for fresh compiles and cached images alike: create
 * every map, point the bytecode at them and load every program through
 * the verifier.  0 with obj filled, or -errno with one line in err (the
 * verifier's log on stderr when verbose); on failure nothing stays open. */
int image_load(const struct bpf_image *img, struct bpf_obj *obj, char *err,
	       size_t errlen);

/* fd of the program or map of that name, or -ENOENT. */
int bpf_obj_prog(const struct bpf_obj *obj, const char *name);
int bpf_obj_map(const struct bpf_obj *obj, const char *name);

void bpf_obj_close(struct bpf_obj *obj);

/* ---- attaching ---- */

/* The expected attach type programs need for uprobe_multi_open(). */
#define ATTACH_UPROBE_MULTI 48	/* BPF_TRACE_UPROBE_MULTI, Linux 6.6 */

/* Can probes be attached as uprobe_multi links?  Linux 6.6 and later,
 * unless CKBTRACE_NO_UPROBE_MULTI is set in the environment. */
bool uprobe_multi_usable(void);

/* One BPF link putting prog_fd (loaded with ATTACH_UPROBE_MULTI) on cnt
 * file offsets of path, scoped to pid (every process when 0), with a
 * USDT semaphore per offset (ref_ctr_offsets may be NULL; 0: none) that
 * the kernel increments while the link lives.  Unlike perf-event
 * uprobes, which the kernel detaches one at a time under a global lock
 * with an RCU grace period each, links detach concurrently.  fd or
 * -errno. */
int uprobe_multi_open(int prog_fd, const char *path, const uint64_t *offsets,
		      const uint64_t *ref_ctr_offsets, uint32_t cnt, pid_t pid,
		      bool ret);

/* Open a uprobe (or uretprobe) perf event on path at file offset, scoped
 * to pid (every process when pid is 0), and run prog_fd on it.  While the
 * probe lives the kernel increments the 16-bit USDT semaphore at file
 * offset ref_ctr_offset (0: none).  The probe lives exactly as long as
 * the returned fd: nothing is written to tracefs.  fd, -EOPNOTSUPP when
 * a semaphore is asked of a kernel without ref_ctr_offset (Linux < 4.20),
 * or -errno. */
int uprobe_open(int prog_fd, const char *path, uint64_t offset, pid_t pid,
		bool ret, uint64_t ref_ctr_offset);

/* Where tracefs is mounted ("/sys/kernel/tracing", or the debugfs
 * path), or NULL. */
const char *tracefs_dir(void);

/* The id of tracepoint category:name from tracefs: id, -ENODEV when
 * tracefs is not mounted, -EACCES when it is but this user may not read
 * it, -ENOENT when the kernel has no such tracepoint, or -errno. */
int tracepoint_id(const char *category, const char *name);

/* Run prog_fd (a BPF_PROG_TYPE_TRACEPOINT program) on tracepoint id.
 * The program runs for every CPU and process; one perf event carries it
 * and it is detached when the fd is closed.  fd or -errno. */
int tracepoint_open(int prog_fd, int id);

/* A sampling perf event of type/config on one CPU, every process, at
 * freq samples a second, running prog_fd (BPF_PROG_TYPE_PERF_EVENT).
 * fd, -ENODEV when the CPU is offline, or -errno. */
int perf_sample_open(int prog_fd, uint32_t type, uint64_t config,
		     uint64_t freq, int cpu);

#endif
