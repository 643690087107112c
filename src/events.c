#include <errno.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpfsys.h"
#include "events.h"
#include "util.h"

#define MAX_RINGS 1024

struct ring {
	int fd;			/* perf event fd, or the ringbuf map fd */
	void *base;		/* ringbuf: consumer page; perf: metadata page */
	void *data;		/* ringbuf: producer page; perf: data area */
	size_t size;		/* bytes of the data area */
	size_t map_len;
};

struct event_reader {
	bool perf;
	int epfd;
	int nrings;
	struct ring rings[MAX_RINGS];
	event_fn fn;
	lost_fn lost;
	void *arg;
	char *scratch;		/* a perf record that wraps the ring */
	size_t scratch_len;
	size_t page;
};

static struct event_reader *reader_new(event_fn fn, lost_fn lost, void *arg,
				       bool perf)
{
	struct event_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->perf = perf;
	r->fn = fn;
	r->lost = lost;
	r->arg = arg;
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0) {
		free(r);
		return NULL;
	}
	return r;
}

static int watch(struct event_reader *r, int fd, int idx)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)idx };

	return epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int events_open_ringbuf(struct event_reader **out, int map_fd, event_fn fn,
			void *arg)
{
	struct event_reader *r;
	uint32_t type, size;
	struct ring *g;
	int err;

	err = bpf_map_info_get(map_fd, &type, &size);
	if (err)
		return err;
	if (type != BPF_MAP_TYPE_RINGBUF)
		return -EINVAL;
	r = reader_new(fn, NULL, arg, false);
	if (!r)
		return -ENOMEM;
	g = &r->rings[0];
	g->fd = map_fd;
	g->size = size;
	g->base = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED,
		       map_fd, 0);
	if (g->base == MAP_FAILED)
		goto fail;
	/* the data area is mapped twice in a row: records never wrap */
	g->map_len = r->page + 2 * (size_t)size;
	g->data = mmap(NULL, g->map_len, PROT_READ, MAP_SHARED, map_fd,
		       (off_t)r->page);
	if (g->data == MAP_FAILED) {
		munmap(g->base, r->page);
		goto fail;
	}
	r->nrings = 1;
	err = watch(r, map_fd, 0);
	if (err) {
		events_close(r);
		return err;
	}
	*out = r;
	return 0;
fail:
	err = -errno;
	close(r->epfd);
	free(r);
	return err;
}

static int ringbuf_consume(struct event_reader *r, struct ring *g)
{
	unsigned long *cons = g->base;
	unsigned long *prod = g->data;
	char *area = (char *)g->data + r->page;
	unsigned long c, p;
	uint32_t len, *hdr;
	int n = 0, stop = 0;

	c = __atomic_load_n(cons, __ATOMIC_ACQUIRE);
	p = __atomic_load_n(prod, __ATOMIC_ACQUIRE);
	while (c < p && !stop) {
		hdr = (uint32_t *)(area + (c & (g->size - 1)));
		len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
		if (len & BPF_RINGBUF_BUSY_BIT)
			break;
		c += (BPF_RINGBUF_HDR_SZ + (len & ~BPF_RINGBUF_DISCARD_BIT) + 7) & ~7ul;
		if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
			stop = r->fn((char *)hdr + BPF_RINGBUF_HDR_SZ,
				     len & ~BPF_RINGBUF_DISCARD_BIT, r->arg);
			n++;
		}
		__atomic_store_n(cons, c, __ATOMIC_RELEASE);
		if (c >= p)
			p = __atomic_load_n(prod, __ATOMIC_ACQUIRE);
	}
	return n;
}

static int perf_open_cpu(struct event_reader *r, int map_fd, int cpu,
			 int pages)
{
	struct perf_event_attr attr;
	struct ring *g = &r->rings[r->nrings];
	int fd, err;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_BPF_OUTPUT;
	attr.sample_type = PERF_SAMPLE_RAW;
	attr.sample_period = 1;
	attr.wakeup_events = 1;
	fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1,
			  PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	g->fd = fd;
	g->size = (size_t)pages * r->page;
	g->map_len = g->size + r->page;
	g->base = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, 0);
	if (g->base == MAP_FAILED) {
		err = -errno;
		close(fd);
		return err;
	}
	g->data = (char *)g->base + r->page;
	r->nrings++;
	if (ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) < 0)
		return -errno;
	err = bpf_map_set(map_fd, &cpu, &fd);
	if (!err)
		err = watch(r, fd, r->nrings - 1);
	return err;
}

int events_open_perfbuf(struct event_reader **out, int map_fd, int pages,
			event_fn fn, lost_fn lost, void *arg)
{
	struct event_reader *r;
	int ncpu = cpus_possible(), cpu, err = 0;

	if (pages <= 0 || (pages & (pages - 1)))
		return -EINVAL;
	if (ncpu <= 0 || ncpu > MAX_RINGS)
		return ncpu <= 0 ? ncpu : -E2BIG;
	r = reader_new(fn, lost, arg, true);
	if (!r)
		return -ENOMEM;
	for (cpu = 0; cpu < ncpu && !err; cpu++) {
		err = perf_open_cpu(r, map_fd, cpu, pages);
		if (err == -ENODEV || err == -EINVAL)
			err = 0;	/* an offline CPU */
	}
	if (!err && !r->nrings)
		err = -ENODEV;
	if (err) {
		events_close(r);
		return err;
	}
	*out = r;
	return 0;
}

static const void *perf_record(struct event_reader *r, struct ring *g,
			       uint64_t pos, size_t len)
{
	size_t off = pos & (g->size - 1), first;
	char *p;

	if (off + len <= g->size)
		return (char *)g->data + off;
	if (r->scratch_len < len) {
		p = realloc(r->scratch, len);
		if (!p)
			return NULL;
		r->scratch = p;
		r->scratch_len = len;
	}
	first = g->size - off;
	memcpy(r->scratch, (char *)g->data + off, first);
	memcpy(r->scratch + first, g->data, len - first);
	return r->scratch;
}

static int perf_consume(struct event_reader *r, struct ring *g)
{
	struct perf_event_mmap_page *meta = g->base;
	const struct perf_event_header *h;
	uint64_t head, tail;
	int n = 0, stop = 0;

	head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
	tail = meta->data_tail;
	while (tail < head && !stop) {
		h = perf_record(r, g, tail, sizeof(*h));
		if (!h)
			break;
		h = perf_record(r, g, tail, h->size);
		if (!h)
			break;
		if (h->type == PERF_RECORD_SAMPLE) {
			const uint32_t *sz = (const void *)(h + 1);

			stop = r->fn(sz + 1, *sz, r->arg);
			n++;
		} else if (h->type == PERF_RECORD_LOST && r->lost) {
			const uint64_t *lost = (const void *)(h + 1);

			r->lost(lost[1], r->arg);
		}
		tail += h->size;
	}
	__atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
	return n;
}

static int consume(struct event_reader *r, int idx)
{
	struct ring *g = &r->rings[idx];

	return r->perf ? perf_consume(r, g) : ringbuf_consume(r, g);
}

int events_drain(struct event_reader *r)
{
	int i, n = 0;

	for (i = 0; i < r->nrings; i++)
		n += consume(r, i);
	return n;
}

int events_poll(struct event_reader *r, int timeout_ms)
{
	struct epoll_event evs[64];
	int i, got, n = 0;

	got = epoll_wait(r->epfd, evs, 64, timeout_ms);
	if (got < 0)
		return -errno;
	for (i = 0; i < got; i++)
		n += consume(r, (int)evs[i].data.u32);
	return n;
}

void events_close(struct event_reader *r)
{
	int i;

	if (!r)
		return;
	for (i = 0; i < r->nrings; i++) {
		struct ring *g = &r->rings[i];

		if (r->perf) {
			munmap(g->base, g->map_len);
			close(g->fd);
		} else {
			munmap(g->base, r->page);
			munmap(g->data, g->map_len);
		}
	}
	close(r->epfd);
	free(r->scratch);
	free(r);
}
