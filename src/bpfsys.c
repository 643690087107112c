#include <errno.h>
#include <fcntl.h>
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

int sys_bpf(int cmd, union bpf_attr *attr)
{
	long r = syscall(__NR_bpf, cmd, attr, sizeof(*attr));

	return r < 0 ? -errno : (int)r;
}

static int map_elem(int cmd, int fd, const void *key, const void *value)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)value;
	if (cmd == BPF_MAP_UPDATE_ELEM)
		a.flags = BPF_ANY;
	return sys_bpf(cmd, &a);
}

int bpf_map_get(int fd, const void *key, void *value)
{
	return map_elem(BPF_MAP_LOOKUP_ELEM, fd, key, value);
}

int bpf_map_set(int fd, const void *key, const void *value)
{
	return map_elem(BPF_MAP_UPDATE_ELEM, fd, key, value);
}

int bpf_map_del(int fd, const void *key)
{
	return map_elem(BPF_MAP_DELETE_ELEM, fd, key, NULL);
}

/* BPF_OBJ_GET_INFO_BY_FD into info (len bytes, zeroed first) */
static int obj_info(int fd, void *info, uint32_t len)
{
	union bpf_attr a;

	memset(info, 0, len);
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = (uint32_t)fd;
	a.info.info_len = len;
	a.info.info = (uint64_t)(uintptr_t)info;
	return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a);
}

static int map_info(int fd, struct bpf_map_info *info)
{
	return obj_info(fd, info, sizeof(*info));
}

int bpf_map_info_get(int fd, uint32_t *type, uint32_t *max_entries)
{
	struct bpf_map_info info;
	int err = map_info(fd, &info);

	if (err)
		return err;
	*type = info.type;
	*max_entries = info.max_entries;
	return 0;
}

int bpf_prog_skipped(int fd, uint64_t *skipped)
{
	struct bpf_prog_info info;
	int err = obj_info(fd, &info, sizeof(info));

	if (err)
		return err;
	*skipped = info.recursion_misses;
	return 0;
}

int bpf_map_sizes(int fd, uint32_t *key_size, uint32_t *value_size)
{
	struct bpf_map_info info;
	int err = map_info(fd, &info);

	if (err)
		return err;
	*key_size = info.key_size;
	*value_size = info.value_size;
	return 0;
}

/* Key by key, for kernels without batch operations. */
static int dump_each(int fd, uint32_t ksz, uint32_t vsz,
		     int (*fn)(const void *, const void *, void *), void *arg)
{
	char *key = malloc(ksz), *next = malloc(ksz), *val = malloc(vsz), *t;
	union bpf_attr a;
	bool first = true;
	int err = key && next && val ? 0 : -ENOMEM;

	while (!err) {
		memset(&a, 0, sizeof(a));
		a.map_fd = (uint32_t)fd;
		a.key = first ? 0 : (uint64_t)(uintptr_t)key;
		a.next_key = (uint64_t)(uintptr_t)next;
		err = sys_bpf(BPF_MAP_GET_NEXT_KEY, &a);
		if (err)
			break;
		first = false;
		if (bpf_map_get(fd, next, val) == 0)
			err = fn(next, val, arg);
		t = key;
		key = next;
		next = t;
	}
	free(key);
	free(next);
	free(val);
	return err == -ENOENT ? 0 : err;
}

int bpf_map_dump(int fd, int (*fn)(const void *, const void *, void *),
		 void *arg)
{
	uint32_t ksz, vsz, chunk = 1024, i;
	uint64_t token = 0;
	char *keys = NULL, *vals = NULL, *p;
	bool first = true;
	union bpf_attr a;
	int err;

	err = bpf_map_sizes(fd, &ksz, &vsz);
	if (err)
		return err;
	keys = malloc((size_t)ksz * chunk);
	vals = malloc((size_t)vsz * chunk);
	if (!keys || !vals)
		err = -ENOMEM;
	while (!err) {
		memset(&a, 0, sizeof(a));
		a.batch.map_fd = (uint32_t)fd;
		a.batch.in_batch = first ? 0 : (uint64_t)(uintptr_t)&token;
		a.batch.out_batch = (uint64_t)(uintptr_t)&token;
		a.batch.keys = (uint64_t)(uintptr_t)keys;
		a.batch.values = (uint64_t)(uintptr_t)vals;
		a.batch.count = chunk;
		err = sys_bpf(BPF_MAP_LOOKUP_BATCH, &a);
		if (err == -ENOSPC && a.batch.count == 0 && chunk < (1u << 20)) {
			/* one hash bucket holds more than a chunk */
			chunk *= 2;
			p = realloc(keys, (size_t)ksz * chunk);
			keys = p ? p : keys;
			p = p ? realloc(vals, (size_t)vsz * chunk) : NULL;
			vals = p ? p : vals;
			err = p ? 0 : -ENOMEM;
			continue;
		}
		if (first && err && err != -ENOENT && err != -ENOSPC) {
			err = dump_each(fd, ksz, vsz, fn, arg);
			break;
		}
		if (err && err != -ENOENT)
			break;
		for (i = 0; i < a.batch.count; i++) {
			int rc = fn(keys + (size_t)i * ksz,
				    vals + (size_t)i * vsz, arg);

			if (rc) {
				err = rc;
				break;
			}
		}
		if (err) {
			err = err == -ENOENT ? 0 : err;
			break;
		}
		first = false;
	}
	free(keys);
	free(vals);
	return err;
}

int bpf_map_del_keys(int fd, const void *keys, uint32_t key_size,
		     uint32_t n)
{
	const char *k = keys;
	union bpf_attr a;
	uint32_t i;
	int err;

	if (!n)
		return 0;
	memset(&a, 0, sizeof(a));
	a.batch.map_fd = (uint32_t)fd;
	a.batch.keys = (uint64_t)(uintptr_t)keys;
	a.batch.count = n;
	err = sys_bpf(BPF_MAP_DELETE_BATCH, &a);
	if (!err)
		return 0;
	/* without batches, or a key already gone: one by one */
	for (i = 0, err = 0; i < n; i++) {
		int e = bpf_map_del(fd, k + (size_t)i * key_size);

		if (e && e != -ENOENT)
			err = e;
	}
	return err;
}

int bpf_ncpus(void)
{
	static int n;

	if (!n)
		n = cpus_possible();
	return n;
}

/* The per-CPU u64 values of key: a buffer of bpf_ncpus() values. */
static int percpu_u64(int fd, const void *key, uint64_t **vals)
{
	static uint64_t *buf;
	int n = bpf_ncpus();

	if (n <= 0)
		return n < 0 ? n : -EINVAL;
	if (!buf) {
		buf = calloc((size_t)n, sizeof(*buf));
		if (!buf)
			return -ENOMEM;
	}
	*vals = buf;
	return bpf_map_get(fd, key, buf);
}

int bpf_map_sum_u64(int fd, const void *key, uint64_t *sum)
{
	uint64_t *v;
	int i, err = percpu_u64(fd, key, &v);

	*sum = 0;
	if (err)
		return err;
	for (i = 0; i < bpf_ncpus(); i++)
		*sum += v[i];
	return 0;
}

int bpf_map_max_u64(int fd, const void *key, uint64_t *max, bool reset)
{
	uint64_t *v;
	int i, err = percpu_u64(fd, key, &v);

	*max = 0;
	if (err)
		return err;
	for (i = 0; i < bpf_ncpus(); i++)
		if (v[i] > *max)
			*max = v[i];
	if (!reset)
		return 0;
	memset(v, 0, sizeof(*v) * (size_t)bpf_ncpus());
	return bpf_map_set(fd, key, v);
}

/* ---- the loader ---- */

void image_free(struct bpf_image *img)
{
	int i;

	for (i = 0; i < img->nprogs; i++) {
		free(img->progs[i].insns);
		img->progs[i].insns = NULL;
	}
	img->nprogs = img->nmaps = 0;
}

static int map_create(const struct image_map *m)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = m->type;
	a.key_size = m->key_size;
	a.value_size = m->value_size;
	a.max_entries = m->max_entries;
	a.map_flags = m->flags;
	snprintf(a.map_name, sizeof(a.map_name), "%.15s", m->name);
	return sys_bpf(BPF_MAP_CREATE, &a);
}

/* Point every map reference of a copy of the bytecode at the new maps. */
static int relocate(struct bpf_insn *in, uint32_t n,
		    const struct bpf_image *img, const int *fds)
{
	uint32_t i;
	int k;

	for (i = 0; i < n; i++) {
		if (in[i].code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		if (in[i].src_reg == BPF_PSEUDO_MAP_FD ||
		    in[i].src_reg == BPF_PSEUDO_MAP_VALUE) {
			for (k = 0; k < img->nmaps; k++)
				if (img->maps[k].fd == in[i].imm)
					break;
			if (k == img->nmaps)
				return -EINVAL;
			in[i].imm = fds[k];
		}
		i++;	/* the second half of a 16-byte load */
	}
	return 0;
}

static int prog_load(const struct bpf_image *img, const struct image_prog *p,
		     const struct bpf_insn *in, char *log, uint32_t loglen)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = p->type;
	a.insns = (uint64_t)(uintptr_t)in;
	a.insn_cnt = p->ninsns;
	a.license = (uint64_t)(uintptr_t)img->license;
	a.kern_version = img->kern_version;
	if (p->attach_type > 0)
		a.expected_attach_type = (uint32_t)p->attach_type;
	snprintf(a.prog_name, sizeof(a.prog_name), "%.15s", p->name);
	if (log) {
		a.log_buf = (uint64_t)(uintptr_t)log;
		a.log_size = loglen;
		a.log_level = 1;
	}
	return sys_bpf(BPF_PROG_LOAD, &a);
}

/* Load again with the verifier's log, and show it with -v. */
static void show_verifier_log(const struct bpf_image *img,
			      const struct image_prog *p,
			      const struct bpf_insn *in)
{
	const uint32_t len = 4u << 20;
	char *log;
	int fd;

	if (!verbose)
		return;
	log = calloc(1, len);
	if (!log)
		return;
	fd = prog_load(img, p, in, log, len);
	if (fd >= 0)
		close(fd);
	fprintf(stderr, "%s\n", log);
	free(log);
}

static int load_prog(const struct bpf_image *img, const struct image_prog *p,
		     const int *map_fds, char *err, size_t errlen)
{
	struct bpf_insn *in;
	int fd;

	if (!p->ninsns || !p->insns)
		return -EINVAL;
	in = malloc(8 * (size_t)p->ninsns);
	if (!in)
		return -ENOMEM;
	memcpy(in, p->insns, 8 * (size_t)p->ninsns);
	fd = relocate(in, p->ninsns, img, map_fds);
	if (fd) {
		snprintf(err, errlen, "BPF program %s refers to an unknown "
			 "map", p->name);
	} else {
		fd = prog_load(img, p, in, NULL, 0);
		if (fd < 0) {
			snprintf(err, errlen, "loading BPF program %s: %s%s",
				 p->name, strerror(-fd),
				 fd == -EPERM ? "; run as root" :
				 fd == -EMFILE ? "; raise ulimit -n" :
				 fd == -EACCES || fd == -EINVAL ?
				 " (the verifier refused it; -v shows why)" :
				 "");
			show_verifier_log(img, p, in);
		}
	}
	free(in);
	return fd;
}

int image_load(const struct bpf_image *img, struct bpf_obj *obj, char *err,
	       size_t errlen)
{
	int i, fd;

	memset(obj, 0, sizeof(*obj));
	for (i = 0; i < img->nmaps; i++) {
		fd = map_create(&img->maps[i]);
		if (fd < 0) {
			snprintf(err, errlen, "creating BPF map %s: %s%s",
				 img->maps[i].name, strerror(-fd),
				 fd == -EPERM ? "; run as root, or raise "
				 "ulimit -l" : fd == -EMFILE ? "; raise ulimit "
				 "-n" : "");
			goto fail;
		}
		snprintf(obj->map_names[i], IMAGE_NAME_LEN, "%s",
			 img->maps[i].name);
		obj->map_fds[obj->nmaps++] = fd;
	}
	for (i = 0; i < img->nprogs; i++) {
		fd = load_prog(img, &img->progs[i], obj->map_fds, err, errlen);
		if (fd < 0)
			goto fail;
		snprintf(obj->prog_names[i], IMAGE_NAME_LEN, "%s",
			 img->progs[i].name);
		obj->prog_fds[obj->nprogs++] = fd;
	}
	return 0;
fail:
	bpf_obj_close(obj);
	return fd;
}

int bpf_obj_prog(const struct bpf_obj *obj, const char *name)
{
	int i;

	for (i = 0; i < obj->nprogs; i++)
		if (strcmp(obj->prog_names[i], name) == 0)
			return obj->prog_fds[i];
	return -ENOENT;
}

int bpf_obj_map(const struct bpf_obj *obj, const char *name)
{
	int i;

	for (i = 0; i < obj->nmaps; i++)
		if (strcmp(obj->map_names[i], name) == 0)
			return obj->map_fds[i];
	return -ENOENT;
}

void bpf_obj_close(struct bpf_obj *obj)
{
	int i;

	for (i = 0; i < obj->nprogs; i++)
		close(obj->prog_fds[i]);
	for (i = 0; i < obj->nmaps; i++)
		close(obj->map_fds[i]);
	obj->nprogs = obj->nmaps = 0;
}

/* ---- attaching ---- */

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

int uprobe_multi_open(int prog_fd, const char *path, const uint64_t *offsets,
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

/* "config:N" of a PMU format file: N, or -ENOENT. */
static int pmu_format_bit(const char *pmu, const char *field)
{
	char path[128], buf[64];

	snprintf(path, sizeof(path), "/sys/bus/event_source/devices/%s/%s",
		 pmu, field);
	if (read_small_file(path, buf, sizeof(buf)) <= 0)
		return -ENOENT;
	if (strncmp(buf, "config:", 7) == 0)
		return atoi(buf + 7);
	return atoi(buf);
}

static int uprobe_pmu(int *type, int *retbit)
{
	static int cached_type = -1, cached_bit = -1;

	if (cached_type < 0) {
		cached_type = pmu_format_bit("uprobe", "type");
		cached_bit = pmu_format_bit("uprobe", "format/retprobe");
		if (cached_type < 0 || cached_bit < 0) {
			cached_type = -1;
			return -ENOENT;
		}
	}
	*type = cached_type;
	*retbit = cached_bit;
	return 0;
}

/* The bit where the uprobe PMU takes a semaphore's file offset. */
static int uprobe_ref_shift(int *shift)
{
	static int cached = -1;

	if (cached < 0) {
		cached = pmu_format_bit("uprobe", "format/ref_ctr_offset");
		if (cached < 1 || cached > 63) {
			cached = -1;
			return -EOPNOTSUPP;
		}
	}
	*shift = cached;
	return 0;
}

/* perf_event_open, then the program on it, then enable it. */
static int perf_open_prog(struct perf_event_attr *attr, pid_t pid, int cpu,
			  int prog_fd)
{
	int fd, err;

	attr->size = sizeof(*attr);
	fd = (int)syscall(__NR_perf_event_open, attr, pid, cpu, -1,
			  PERF_FLAG_FD_CLOEXEC);
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

int uprobe_open(int prog_fd, const char *path, uint64_t offset, pid_t pid,
		bool ret, uint64_t ref_ctr_offset)
{
	struct perf_event_attr attr;
	int type = 0, retbit = 0, shift = 0, err;

	err = uprobe_pmu(&type, &retbit);
	if (!err && ref_ctr_offset)
		err = uprobe_ref_shift(&shift);
	if (err)
		return err;
	if (ref_ctr_offset && ref_ctr_offset >> (64 - shift))
		return -ERANGE;
	memset(&attr, 0, sizeof(attr));
	attr.type = (uint32_t)type;
	attr.config = ret ? 1ull << retbit : 0;
	if (ref_ctr_offset)
		attr.config |= ref_ctr_offset << shift;
	attr.config1 = (uint64_t)(uintptr_t)path;
	attr.config2 = offset;
	attr.sample_period = 1;
	attr.wakeup_events = 1;
	return perf_open_prog(&attr, pid ? pid : -1, pid ? -1 : 0, prog_fd);
}

const char *tracefs_dir(void)
{
	static const char *const dirs[] = { "/sys/kernel/tracing",
					    "/sys/kernel/debug/tracing" };
	char path[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/events", dirs[i]);
		if (access(path, R_OK | X_OK) == 0)
			return dirs[i];
	}
	return NULL;
}

int tracepoint_id(const char *category, const char *name)
{
	const char *dir = tracefs_dir();
	char path[512], buf[32];
	ssize_t n;

	if (!dir) {
		/* mounted, but only for root (mode 0700 by default)? */
		if (access("/sys/kernel/tracing/events", X_OK) != 0 &&
		    errno == EACCES)
			return -EACCES;
		return -ENODEV;
	}
	snprintf(path, sizeof(path), "%s/events/%s/%s/id", dir, category,
		 name);
	n = read_small_file(path, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 ? (int)n : -EINVAL;
	return atoi(buf) > 0 ? atoi(buf) : -EINVAL;
}

int tracepoint_open(int prog_fd, int id)
{
	struct perf_event_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.config = (uint64_t)id;
	attr.sample_period = 1;
	attr.wakeup_events = 1;
	return perf_open_prog(&attr, -1, 0, prog_fd);
}

int perf_sample_open(int prog_fd, uint32_t type, uint64_t config,
		     uint64_t freq, int cpu)
{
	struct perf_event_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.type = type;
	attr.config = config;
	attr.freq = 1;
	attr.sample_freq = freq;
	return perf_open_prog(&attr, -1, cpu, prog_fd);
}
