#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bpfcache.h"
#include "util.h"

#define MAGIC "CKBCACH1"
#define MAX_MAPS 64
#define MAX_PROGS 128
#define MAX_INSNS 1000000

struct file_head {
	char magic[8];
	uint32_t nmaps, nprogs;
	uint32_t kern_version;
	int32_t attach_type;
	char license[16];
};

struct file_prog {
	char name[CACHE_NAME_LEN];
	uint32_t ninsns, pad;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--) {
		h ^= *c++;
		h *= 1099511628211ull;
	}
	return h;
}

static void hash_str(uint64_t *h, const char *s)
{
	h[0] = fnv(h[0], s, strlen(s) + 1);
	h[1] = fnv(h[1] ^ 0x9e3779b97f4a7c15ull, s, strlen(s) + 1);
}

static bool dir_safe(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return false;
	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	       st.st_uid == geteuid() && !(st.st_mode & 022);
}

int bpfcache_path(const struct bpf_build *b, char *path, size_t len)
{
	const char *dir = getenv("CKBTRACE_CACHE_DIR");
	uint64_t h[2] = { 14695981039346656037ull, 1469598103934665603ull };
	char buf[64], headers[PATH_MAX], real[PATH_MAX];
	struct utsname u;
	int i;

	if (getenv("CKBTRACE_NO_CACHE"))
		return -ENOENT;
	if (!dir || !*dir)
		dir = "/var/cache/ckbtrace";
	if (!dir_safe(dir))
		return -ENOENT;
	uname(&u);
	snprintf(headers, sizeof(headers), "/lib/modules/%s/build", u.release);
	hash_str(h, MAGIC);
	hash_str(h, u.release);
	hash_str(h, u.version);
	hash_str(h, realpath(headers, real) ? real : "");
	hash_str(h, b->text);
	for (i = 0; i < b->ncflags; i++)
		hash_str(h, b->cflags[i]);
	for (i = 0; i < b->nprogs; i++)
		hash_str(h, b->progs[i]);
	snprintf(buf, sizeof(buf), "%d", b->attach_type);
	hash_str(h, buf);
	if (snprintf(path, len, "%s/%016llx%016llx.bpf", dir,
		     (unsigned long long)h[0], (unsigned long long)h[1]) >=
	    (int)len)
		return -ENAMETOOLONG;
	return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n) {
		w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -errno;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int bpfcache_write(const char *path, const struct cache_map *maps, int nmaps,
		   const struct cache_prog *progs, int nprogs,
		   const char *license, uint32_t kern_version,
		   int attach_type)
{
	struct file_head h = { .nmaps = (uint32_t)nmaps,
			       .nprogs = (uint32_t)nprogs,
			       .kern_version = kern_version,
			       .attach_type = attach_type };
	char tmp[PATH_MAX];
	int fd, i, err = 0;

	memcpy(h.magic, MAGIC, 8);
	snprintf(h.license, sizeof(h.license), "%s", license);
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	err = write_all(fd, &h, sizeof(h));
	for (i = 0; !err && i < nmaps; i++)
		err = write_all(fd, &maps[i], sizeof(maps[i]));
	for (i = 0; !err && i < nprogs; i++) {
		struct file_prog fp = { .ninsns = progs[i].ninsns };

		memcpy(fp.name, progs[i].name, sizeof(fp.name));
		err = write_all(fd, &fp, sizeof(fp));
		if (!err)
			err = write_all(fd, progs[i].insns,
					8 * (size_t)progs[i].ninsns);
	}
	if (close(fd) != 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) != 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

static int sys_bpf(int cmd, union bpf_attr *a)
{
	long r = syscall(__NR_bpf, cmd, a, sizeof(*a));

	return r < 0 ? -errno : (int)r;
}

static int map_create(const struct cache_map *m)
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

/* Point every map reference of the bytecode at the new maps. */
static int relocate(struct bpf_insn *in, uint32_t n,
		    const struct cache_map *maps, const int *fds, int nmaps)
{
	uint32_t i;
	int k;

	for (i = 0; i < n; i++) {
		if (in[i].code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		if (in[i].src_reg == BPF_PSEUDO_MAP_FD ||
		    in[i].src_reg == BPF_PSEUDO_MAP_VALUE) {
			for (k = 0; k < nmaps; k++)
				if (maps[k].fd == in[i].imm)
					break;
			if (k == nmaps)
				return -EINVAL;
			in[i].imm = fds[k];
		}
		i++;	/* the second half of a 16-byte load */
	}
	return 0;
}

static int prog_load(const struct file_head *h, const char *name,
		     const struct bpf_insn *in, uint32_t n)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_KPROBE;
	a.insns = (uint64_t)(uintptr_t)in;
	a.insn_cnt = n;
	a.license = (uint64_t)(uintptr_t)h->license;
	a.kern_version = h->kern_version;
	if (h->attach_type > 0)
		a.expected_attach_type = (uint32_t)h->attach_type;
	snprintf(a.prog_name, sizeof(a.prog_name), "%.15s", name);
	return sys_bpf(BPF_PROG_LOAD, &a);
}

static bool file_safe(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	       st.st_uid == geteuid() && !(st.st_mode & 022);
}

static int read_all(int fd, void *p, size_t n)
{
	ssize_t r = read(fd, p, n);

	return r == (ssize_t)n ? 0 : -EINVAL;
}

struct loaded {
	struct file_head h;
	struct cache_map maps[MAX_MAPS];
	int map_fds[MAX_MAPS];
	char names[MAX_PROGS][CACHE_NAME_LEN];
	int prog_fds[MAX_PROGS];
	int nmaps, nprogs;
};

static void loaded_close(struct loaded *l)
{
	int i;

	for (i = 0; i < l->nmaps; i++)
		if (l->map_fds[i] >= 0)
			close(l->map_fds[i]);
	for (i = 0; i < l->nprogs; i++)
		if (l->prog_fds[i] >= 0)
			close(l->prog_fds[i]);
	l->nmaps = l->nprogs = 0;
}

static int load_entry(int fd, struct loaded *l)
{
	struct bpf_insn *in = NULL;
	struct file_prog fp;
	uint32_t i;
	int err;

	if (read_all(fd, &l->h, sizeof(l->h)) ||
	    memcmp(l->h.magic, MAGIC, 8) != 0 || l->h.nmaps > MAX_MAPS ||
	    l->h.nprogs > MAX_PROGS)
		return -EINVAL;
	l->h.license[sizeof(l->h.license) - 1] = '\0';
	for (i = 0; i < l->h.nmaps; i++) {
		if (read_all(fd, &l->maps[i], sizeof(l->maps[i])))
			return -EINVAL;
		l->maps[i].name[CACHE_NAME_LEN - 1] = '\0';
		l->map_fds[l->nmaps] = map_create(&l->maps[i]);
		if (l->map_fds[l->nmaps] < 0)
			return l->map_fds[l->nmaps];
		l->nmaps++;
	}
	for (i = 0; i < l->h.nprogs; i++) {
		if (read_all(fd, &fp, sizeof(fp)) || !fp.ninsns ||
		    fp.ninsns > MAX_INSNS)
			return -EINVAL;
		in = malloc(8 * (size_t)fp.ninsns);
		if (!in)
			return -ENOMEM;
		err = read_all(fd, in, 8 * (size_t)fp.ninsns);
		if (!err)
			err = relocate(in, fp.ninsns, l->maps, l->map_fds,
				       l->nmaps);
		fp.name[CACHE_NAME_LEN - 1] = '\0';
		memcpy(l->names[i], fp.name, CACHE_NAME_LEN);
		l->prog_fds[l->nprogs] = err ? err :
					 prog_load(&l->h, fp.name, in, fp.ninsns);
		free(in);
		if (l->prog_fds[l->nprogs] < 0)
			return l->prog_fds[l->nprogs];
		l->nprogs++;
	}
	return 0;
}

/* Hand the wanted fds out; close the rest. */
static int pick(struct loaded *l, const struct bpf_build *b, int *prog_fds,
		int *map_fds)
{
	int i, k;

	for (i = 0; i < b->nprogs; i++) {
		for (k = 0; k < l->nprogs; k++)
			if (strcmp(l->names[k], b->progs[i]) == 0)
				break;
		if (k == l->nprogs)
			return -ENOENT;
		prog_fds[i] = k;
	}
	for (i = 0; i < b->nmaps; i++) {
		for (k = 0; k < l->nmaps; k++)
			if (strcmp(l->maps[k].name, b->maps[i]) == 0)
				break;
		if (k == l->nmaps)
			return -ENOENT;
		map_fds[i] = k;
	}
	for (i = 0; i < b->nprogs; i++)
		prog_fds[i] = fcntl(l->prog_fds[prog_fds[i]], F_DUPFD_CLOEXEC, 0);
	for (i = 0; i < b->nmaps; i++)
		map_fds[i] = fcntl(l->map_fds[map_fds[i]], F_DUPFD_CLOEXEC, 0);
	for (i = 0; i < b->nprogs + b->nmaps; i++) {
		if ((i < b->nprogs ? prog_fds[i] : map_fds[i - b->nprogs]) < 0) {
			for (k = 0; k < b->nprogs; k++)
				if (prog_fds[k] >= 0)
					close(prog_fds[k]);
			for (k = 0; k < b->nmaps; k++)
				if (map_fds[k] >= 0)
					close(map_fds[k]);
			return -EMFILE;
		}
	}
	return 0;
}

int bpfcache_load(const char *path, const struct bpf_build *b, int *prog_fds,
		  int *map_fds)
{
	static struct loaded l;
	int fd, err;

	memset(&l, 0, sizeof(l));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	if (!file_safe(fd)) {
		close(fd);
		return -ENOENT;
	}
	err = load_entry(fd, &l);
	close(fd);
	if (!err)
		err = pick(&l, b, prog_fds, map_fds);
	loaded_close(&l);
	return err;
}
