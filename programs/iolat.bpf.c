/* ckb-iolat: a process's file I/O syscalls, timed from their
 * sys_enter_* to their sys_exit_* tracepoint, per thread name and
 * syscall, or with BY_FILE per file.  Only tracepoint fields are read
 * (args->fd, args->filename, args->ret) and user memory for openat's
 * file name: no kernel struct.  Parameters (-D integers):
 *   BY_FILE      1: key by (fd, generation) and record openat names
 *   REPORT_MASK  syscalls (bit per IO_* id) that are aggregated; with
 *                BY_FILE, openat and close are traced for names anyway */
/* BCC declares each tracepoint's args from its tracefs format, which names
 * rwf_t (preadv2/pwritev2 flags); the headers BCC compiles against may
 * not define it. */
typedef int rwf_t;

#include "target.bpf.h"
#include "iolat.h"
#define AGG_KEY struct io_key
#include "agg.bpf.h"

#ifndef BY_FILE
#define BY_FILE 0
#endif
#ifndef REPORT_MASK
#define REPORT_MASK 0xffffffff
#endif

struct io_start {
	u64 ts;
	u64 name;	/* openat: the user pointer to the file name */
	u32 sys;
	u32 fd;
	u32 gen;
	s32 dfd;
};

BPF_HASH(io_start, u32, struct io_start, 16384);
BPF_PERCPU_ARRAY(io_drops, u64, IO_DROP_COUNT);
#if BY_FILE
BPF_HASH(fdgen, u32, u32, 65536);
BPF_TABLE("lru_hash", struct io_fdkey, struct io_fdname, fdnames, 16384);
BPF_PERCPU_ARRAY(io_scratch, struct io_fdname, 1);
#endif

static __always_inline u32 gen_of(u32 fd)
{
#if BY_FILE
	u32 *g = fdgen.lookup(&fd);

	return g ? *g : 0;
#else
	return 0;
#endif
}

/* fd now names another file. */
static __always_inline void gen_bump(u32 fd)
{
#if BY_FILE
	u32 *g = fdgen.lookup(&fd), one = 1;

	if (g)
		__sync_fetch_and_add(g, 1);
	else
		fdgen.update(&fd, &one);
#endif
}

static __always_inline int io_enter(u32 sys, s64 fd, u64 name)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id, z = IO_DROP_START_FULL;
	struct io_start s = {};
	u64 *c;

	if (!ours(id))
		return 0;
	s.ts = bpf_ktime_get_ns();
	s.sys = sys;
	s.name = name;
	if (sys == IO_OPENAT) {
		s.dfd = (s32)fd;
	} else {
		s.fd = (u32)fd;
		s.gen = gen_of((u32)fd);
		if (sys == IO_CLOSE)
			gen_bump((u32)fd);
	}
	if (io_start.update(&tid, &s) != 0) {
		c = io_drops.lookup(&z);
		if (c)
			(*c)++;
	}
	return 0;
}

#if BY_FILE
/* Remember what name an openat gave its new fd. */
static __always_inline void io_name(const struct io_start *s, u32 fd,
				    u32 gen)
{
	struct io_fdkey k = { .fd = fd, .gen = gen };
	u32 z = 0;
	struct io_fdname *n = io_scratch.lookup(&z);

	if (!n)
		return;
	n->dfd = s->dfd;
	n->pad = 0;
	if (bpf_probe_read_user_str(n->path, sizeof(n->path),
				    (void *)s->name) < 0)
		n->path[0] = '\0';
	fdnames.update(&k, n);
}
#endif

static __always_inline int io_exit(u32 sys, s64 ret)
{
	u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();
	u32 tid = (u32)id, gen;
	struct io_start *s = io_start.lookup(&tid);
	struct io_key k = {};
	u64 bytes = 0;

	if (!s)
		return 0;	/* entered before the tracepoints were in */
	if (s->sys != sys) {
		io_start.delete(&tid);
		return 0;
	}
	k.sys = sys;
#if BY_FILE
	if (sys == IO_OPENAT && ret >= 0) {
		k.fd = (u32)ret;
		k.gen = gen_of((u32)ret);
		io_name(s, k.fd, k.gen);
	} else if (sys == IO_OPENAT) {
		k.fd = IO_NO_FD;
	} else {
		k.fd = s->fd;
		k.gen = s->gen;
	}
#else
	bpf_get_current_comm(&k.comm, sizeof(k.comm));
#endif
	if (((1u << sys) & IO_BYTES_MASK) && ret > 0)
		bytes = (u64)ret;
	if ((1u << sys) & REPORT_MASK) {
		gen = agg_begin();
		agg_add(gen, &k, now - s->ts, bytes);
		agg_end(gen);
	}
	io_start.delete(&tid);
	return 0;
}

#define IO_FD(name, id)							\
	TRACEPOINT_PROBE(syscalls, sys_enter_##name)			\
	{								\
		return io_enter(id, (s64)args->fd, 0);			\
	}								\
	TRACEPOINT_PROBE(syscalls, sys_exit_##name)			\
	{								\
		return io_exit(id, args->ret);				\
	}

IO_FD(fsync, IO_FSYNC)
IO_FD(fdatasync, IO_FDATASYNC)
IO_FD(sync_file_range, IO_SYNC_FILE_RANGE)
IO_FD(pread64, IO_PREAD64)
IO_FD(pwrite64, IO_PWRITE64)
IO_FD(preadv, IO_PREADV)
IO_FD(pwritev, IO_PWRITEV)
IO_FD(preadv2, IO_PREADV2)
IO_FD(pwritev2, IO_PWRITEV2)
IO_FD(read, IO_READ)
IO_FD(write, IO_WRITE)
IO_FD(close, IO_CLOSE)

TRACEPOINT_PROBE(syscalls, sys_enter_openat)
{
	return io_enter(IO_OPENAT, (s64)args->dfd, (u64)args->filename);
}

TRACEPOINT_PROBE(syscalls, sys_exit_openat)
{
	return io_exit(IO_OPENAT, args->ret);
}

#if BY_FILE
/* dup2 and dup3 close newfd without a close(2). */
TRACEPOINT_PROBE(syscalls, sys_enter_dup2)
{
	if (ours(bpf_get_current_pid_tgid()))
		gen_bump((u32)args->newfd);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_dup3)
{
	if (ours(bpf_get_current_pid_tgid()))
		gen_bump((u32)args->newfd);
	return 0;
}
#endif
