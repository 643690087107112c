#include <errno.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bpfsys.h"
#include "util.h"

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	long r = syscall(__NR_bpf, cmd, attr, sizeof(*attr));

	return r < 0 ? -errno : (int)r;
}

int bpf_map_get(int fd, const void *key, void *value)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)value;
	return sys_bpf(BPF_MAP_LOOKUP_ELEM, &a);
}

int bpf_map_set(int fd, const void *key, const void *value)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)value;
	a.flags = BPF_ANY;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
}

bool uprobe_multi_usable(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (getenv("CKBTRACE_NO_UPROBE_MULTI"))
		return false;
	if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 6);
}

/* BPF_LINK_CREATE's uprobe_multi arguments (Linux 6.6 uapi), laid out
 * here because the system headers may predate them. */
struct link_create_umulti {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t umulti_flags;
	uint32_t pid;
};

static int link_umulti(int prog_fd, const char *path, const uint64_t *offsets,
		       const uint64_t *ref_ctr_offsets, uint32_t cnt, pid_t pid,
		       bool ret)
{
	union {
		struct link_create_umulti lc;
		char raw[256];
	} a;
	long fd;

	memset(&a, 0, sizeof(a));
	a.lc.prog_fd = (uint32_t)prog_fd;
	a.lc.attach_type = ATTACH_UPROBE_MULTI;
	a.lc.path = (uint64_t)(uintptr_t)path;
	a.lc.offsets = (uint64_t)(uintptr_t)offsets;
	a.lc.ref_ctr_offsets = (uint64_t)(uintptr_t)ref_ctr_offsets;
	a.lc.cnt = cnt;
	a.lc.umulti_flags = ret ? 1 : 0;	/* BPF_F_UPROBE_MULTI_RETURN */
	a.lc.pid = (uint32_t)pid;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
	return fd < 0 ? -errno : (int)fd;
}

int uprobe_multi_open(int prog_fd, const char *path, const uint64_t *offsets,
		      uint32_t cnt, pid_t pid, bool ret)
{
	return link_umulti(prog_fd, path, offsets, NULL, cnt, pid, ret);
}

int bpf_map_del(int fd, const void *key)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	return sys_bpf(BPF_MAP_DELETE_ELEM, &a);
}

int bpf_map_info_get(int fd, uint32_t *type, uint32_t *max_entries)
{
	struct bpf_map_info info;
	union bpf_attr a;
	int err;

	memset(&info, 0, sizeof(info));
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = (uint32_t)fd;
	a.info.info_len = sizeof(info);
	a.info.info = (uint64_t)(uintptr_t)&info;
	err = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a);
	if (err)
		return err;
	*type = info.type;
	*max_entries = info.max_entries;
	return 0;
}

static int uprobe_pmu(int *type, int *retbit)
{
	static int cached_type = -1, cached_bit = -1;
	char buf[64];
	ssize_t n;

	if (cached_type < 0) {
		n = read_small_file("/sys/bus/event_source/devices/uprobe/type",
				    buf, sizeof(buf));
		if (n <= 0)
			return n < 0 ? (int)n : -ENOENT;
		cached_type = atoi(buf);
		n = read_small_file(
			"/sys/bus/event_source/devices/uprobe/format/retprobe",
			buf, sizeof(buf));
		if (n <= 0 || strncmp(buf, "config:", 7) != 0)
			return -ENOENT;
		cached_bit = atoi(buf + 7);
	}
	*type = cached_type;
	*retbit = cached_bit;
	return 0;
}

/* The bit where the uprobe PMU takes a semaphore's file offset. */
static int uprobe_ref_shift(int *shift)
{
	static int cached = -1;
	char buf[64];
	ssize_t n;

	if (cached < 0) {
		n = read_small_file(
			"/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset",
			buf, sizeof(buf));
		if (n <= 0 || strncmp(buf, "config:", 7) != 0)
			return -EOPNOTSUPP;
		cached = atoi(buf + 7);
		if (cached < 1 || cached > 63)
			return -EOPNOTSUPP;
	}
	*shift = cached;
	return 0;
}

int uprobe_open(int prog_fd, const char *path, uint64_t offset, pid_t pid,
		bool ret)
{
	return uprobe_open_ref(prog_fd, path, offset, pid, ret, 0);
}

int uprobe_open_ref(int prog_fd, const char *path, uint64_t offset,
		    pid_t pid, bool ret, uint64_t ref_ctr_offset)
{
	struct perf_event_attr attr;
	int type = 0, retbit = 0, shift = 0, fd, err;

	err = uprobe_pmu(&type, &retbit);
	if (!err && ref_ctr_offset)
		err = uprobe_ref_shift(&shift);
	if (err)
		return err;
	if (ref_ctr_offset && ref_ctr_offset >> (64 - shift))
		return -ERANGE;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = (uint32_t)type;
	attr.config = ret ? 1ull << retbit : 0;
	if (ref_ctr_offset)
		attr.config |= ref_ctr_offset << shift;
	attr.config1 = (uint64_t)(uintptr_t)path;
	attr.config2 = offset;
	attr.sample_period = 1;
	attr.wakeup_events = 1;
	fd = (int)syscall(__NR_perf_event_open, &attr, pid ? pid : -1,
			  pid ? -1 : 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog_fd) < 0 ||
	    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int uprobe_multi_open_ref(int prog_fd, const char *path,
			  const uint64_t *offsets,
			  const uint64_t *ref_ctr_offsets, uint32_t cnt,
			  pid_t pid)
{
	return link_umulti(prog_fd, path, offsets, ref_ctr_offsets, cnt, pid,
			   false);
}
