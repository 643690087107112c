/* The few bpf(2) and perf_event_open(2) calls the long-running process
 * makes itself, so it never links libbcc. */
#ifndef CKBTRACE_BPFSYS_H
#define CKBTRACE_BPFSYS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* 0 or -errno. */
int bpf_map_get(int fd, const void *key, void *value);
int bpf_map_set(int fd, const void *key, const void *value);

/* The expected attach type programs need for uprobe_multi_open(). */
#define ATTACH_UPROBE_MULTI 48	/* BPF_TRACE_UPROBE_MULTI, Linux 6.6 */

/* Can probes be attached as uprobe_multi links?  Linux 6.6 and later,
 * unless CKBTRACE_NO_UPROBE_MULTI is set in the environment. */
bool uprobe_multi_usable(void);

/* One BPF link putting prog_fd (loaded with ATTACH_UPROBE_MULTI) on cnt
 * offsets of path, scoped to pid (every process when 0).  Unlike perf
 * event uprobes, which the kernel detaches one at a time under a global
 * lock with an RCU grace period each, links detach concurrently.
 * fd or -errno. */
int uprobe_multi_open(int prog_fd, const char *path, const uint64_t *offsets,
		      uint32_t cnt, pid_t pid, bool ret);

/* Delete key from a map: 0 or -errno. */
int bpf_map_del(int fd, const void *key);

/* Type and max_entries of a map: 0 or -errno. */
int bpf_map_info_get(int fd, uint32_t *type, uint32_t *max_entries);

/* Open a uprobe (or uretprobe) perf event on path at file offset, scoped
 * to pid (every process when pid is 0), and run prog_fd on it.  The probe
 * lives exactly as long as the returned fd: nothing is written to tracefs.
 * fd or -errno. */
int uprobe_open(int prog_fd, const char *path, uint64_t offset, pid_t pid,
		bool ret);

/* As uprobe_open, and while the probe lives the kernel increments the
 * 16-bit USDT semaphore at file offset ref_ctr_offset (0: none) in every
 * process the probe is installed in.  fd, -EOPNOTSUPP when the kernel
 * lacks ref_ctr_offset (Linux < 4.20), or -errno. */
int uprobe_open_ref(int prog_fd, const char *path, uint64_t offset,
		    pid_t pid, bool ret, uint64_t ref_ctr_offset);

/* As uprobe_multi_open for entry probes, with a USDT semaphore per offset
 * (file offsets, 0: none) that the kernel increments while the link
 * lives.  fd or -errno. */
int uprobe_multi_open_ref(int prog_fd, const char *path,
			  const uint64_t *offsets,
			  const uint64_t *ref_ctr_offsets, uint32_t cnt,
			  pid_t pid);

#endif
