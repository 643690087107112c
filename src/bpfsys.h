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

/* Type and max_entries of a map: 0 or -errno. */
int bpf_map_info_get(int fd, uint32_t *type, uint32_t *max_entries);

/* Open a uprobe (or uretprobe) perf event on path at file offset, scoped
 * to pid (every process when pid is 0), and run prog_fd on it.  The probe
 * lives exactly as long as the returned fd: nothing is written to tracefs.
 * fd or -errno. */
int uprobe_open(int prog_fd, const char *path, uint64_t offset, pid_t pid,
		bool ret);

#endif
