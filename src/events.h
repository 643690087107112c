/* Delivery of BPF events to user space without libbpf: a BPF ring buffer
 * (Linux 5.8+) or per-CPU perf buffers. */
#ifndef CKBTRACE_EVENTS_H
#define CKBTRACE_EVENTS_H

#include <stddef.h>
#include <stdint.h>

struct event_reader;

/* One record; return non-zero to stop the current poll early. */
typedef int (*event_fn)(const void *data, size_t len, void *arg);
/* The kernel dropped lost records of a perf buffer (it was full). */
typedef void (*lost_fn)(uint64_t lost, void *arg);

/* map_fd is a BPF_MAP_TYPE_RINGBUF map.  0 or -errno. */
int events_open_ringbuf(struct event_reader **r, int map_fd, event_fn fn,
			void *arg);

/* map_fd is a BPF_MAP_TYPE_PERF_EVENT_ARRAY: opens a buffer of pages
 * pages (a power of two) on every online CPU and stores it in the map.
 * 0 or -errno. */
int events_open_perfbuf(struct event_reader **r, int map_fd, int pages,
			event_fn fn, lost_fn lost, void *arg);

/* Wait up to timeout_ms for records and deliver all that are ready:
 * how many, or -errno (-EINTR when a signal came). */
int events_poll(struct event_reader *r, int timeout_ms);

/* Deliver whatever is buffered now, without waiting. */
int events_drain(struct event_reader *r);

void events_close(struct event_reader *r);

#endif
