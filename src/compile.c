#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpfcache.h"
#include "compile.h"
#include "util.h"

struct reply {
	int status;		/* 0 or -errno */
	char err[400];
};

struct bcc_api {
	void *(*create)(const char *, unsigned, const char *[], int, bool,
			const char *);
	void (*destroy)(void *);
	char *(*license)(void *);
	unsigned (*kern_version)(void *);
	void *(*fn_start)(void *, const char *);
	size_t (*fn_size)(void *, const char *);
	int (*table_fd)(void *, const char *);
	int (*func_load)(void *, int, const char *, const void *, int,
			 const char *, unsigned, int, char *, unsigned,
			 const char *, int);
	size_t (*num_tables)(void *);
	const char *(*table_name)(void *, size_t);
	int (*table_fd_id)(void *, size_t);
	int (*table_type_id)(void *, size_t);
	size_t (*table_key_size_id)(void *, size_t);
	size_t (*table_leaf_size_id)(void *, size_t);
	size_t (*table_max_entries_id)(void *, size_t);
	int (*table_flags_id)(void *, size_t);
};

static int bcc_bind(struct bcc_api *a, char *err, size_t len)
{
	void *h = dlopen("libbcc.so.0", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(err, len, "cannot load libbcc.so.0 (%s); install libbpfcc",
			 dlerror());
		return -ENOENT;
	}
#define BIND(field, sym)						\
	do {								\
		*(void **)&a->field = dlsym(h, sym);			\
		if (!a->field) {					\
			snprintf(err, len, "libbcc.so.0 lacks %s", sym); \
			return -ENOSYS;					\
		}							\
	} while (0)
	BIND(create, "bpf_module_create_c_from_string");
	BIND(destroy, "bpf_module_destroy");
	BIND(license, "bpf_module_license");
	BIND(kern_version, "bpf_module_kern_version");
	BIND(fn_start, "bpf_function_start");
	BIND(fn_size, "bpf_function_size");
	BIND(table_fd, "bpf_table_fd");
	BIND(func_load, "bcc_func_load");
	BIND(num_tables, "bpf_num_tables");
	BIND(table_name, "bpf_table_name");
	BIND(table_fd_id, "bpf_table_fd_id");
	BIND(table_type_id, "bpf_table_type_id");
	BIND(table_key_size_id, "bpf_table_key_size_id");
	BIND(table_leaf_size_id, "bpf_table_leaf_size_id");
	BIND(table_max_entries_id, "bpf_table_max_entries_id");
	BIND(table_flags_id, "bpf_table_flags_id");
#undef BIND
	return 0;
}

/* Save what BCC built, every table included, for bpfcache_load(). */
static void store(const struct bcc_api *a, void *mod,
		  const struct bpf_build *b, const char *path)
{
	static struct cache_map maps[64];
	static struct cache_prog progs[COMPILE_MAX_FDS];
	size_t i, n = a->num_tables(mod);
	int rc;

	if (!path || n > 64)
		return;
	for (i = 0; i < n; i++) {
		snprintf(maps[i].name, sizeof(maps[i].name), "%s",
			 a->table_name(mod, i));
		maps[i].type = (uint32_t)a->table_type_id(mod, i);
		maps[i].key_size = (uint32_t)a->table_key_size_id(mod, i);
		maps[i].value_size = (uint32_t)a->table_leaf_size_id(mod, i);
		maps[i].max_entries = (uint32_t)a->table_max_entries_id(mod, i);
		maps[i].flags = (uint32_t)a->table_flags_id(mod, i);
		maps[i].fd = a->table_fd_id(mod, i);
	}
	for (i = 0; i < (size_t)b->nprogs; i++) {
		snprintf(progs[i].name, sizeof(progs[i].name), "%s",
			 b->progs[i]);
		progs[i].insns = a->fn_start(mod, b->progs[i]);
		progs[i].ninsns = (uint32_t)(a->fn_size(mod, b->progs[i]) / 8);
	}
	rc = bpfcache_write(path, maps, (int)n, progs, b->nprogs,
			    a->license(mod), a->kern_version(mod),
			    b->attach_type);
	if (rc)
		fprintf(stderr, "cache: cannot write %s: %s\n", path,
			strerror(-rc));
}

static int load_all(const struct bcc_api *a, const struct bpf_build *b,
		    const char *cache, int *fds, char *err, size_t len)
{
	static char log[65536];
	const char **cflags;
	void *mod, *start;
	size_t size;
	int i, fd, n = 0;

	cflags = calloc((size_t)b->ncflags + 1, sizeof(*cflags));
	if (!cflags)
		return -ENOMEM;
	for (i = 0; i < b->ncflags; i++)
		cflags[i] = b->cflags[i];
	mod = a->create(b->text, 0, cflags, b->ncflags, true, NULL);
	free(cflags);
	if (!mod) {
		snprintf(err, len, "BPF compile failed (run with -v for the "
			 "compiler output)");
		return -EINVAL;
	}
	for (i = 0; i < b->nprogs; i++) {
		start = a->fn_start(mod, b->progs[i]);
		size = a->fn_size(mod, b->progs[i]);
		if (!start) {
			snprintf(err, len, "BPF program %s not found", b->progs[i]);
			return -ENOENT;
		}
		fd = a->func_load(mod, BPF_PROG_TYPE_KPROBE, b->progs[i], start,
				  (int)size, a->license(mod),
				  a->kern_version(mod), 0, NULL, 0, NULL,
				  b->attach_type > 0 ? b->attach_type : -1);
		if (fd < 0) {
			int e = errno;

			a->func_load(mod, BPF_PROG_TYPE_KPROBE, b->progs[i],
				     start, (int)size, a->license(mod),
				     a->kern_version(mod), 1, log, sizeof(log),
				     NULL,
				     b->attach_type > 0 ? b->attach_type : -1);
			if (verbose)
				fprintf(stderr, "%s\n", log);
			snprintf(err, len, "loading BPF program %s: %s%s",
				 b->progs[i], strerror(e),
				 e == EPERM ? "; run as root" : "");
			return -e;
		}
		fds[n++] = fd;
	}
	for (i = 0; i < b->nmaps; i++) {
		fd = a->table_fd(mod, b->maps[i]);
		if (fd < 0) {
			snprintf(err, len, "BPF map %s not found", b->maps[i]);
			return -ENOENT;
		}
		fds[n++] = fd;
	}
	store(a, mod, b, cache);
	return 0;
}

static int send_reply(int sock, const struct reply *r, const int *fds, int n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * COMPILE_MAX_FDS)];
	struct iovec iov = { (void *)r, sizeof(*r) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (n > 0) {
		memset(cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
	}
	return sendmsg(sock, &m, 0) < 0 ? -errno : 0;
}

static void child_main(int sock, int errfd, const struct bpf_build *b,
		       const char *cache)
{
	struct bcc_api api = { 0 };
	struct reply r;
	int fds[COMPILE_MAX_FDS];
	int n = b->nprogs + b->nmaps;

	memset(&r, 0, sizeof(r));
	/* clang looks at the working directory; one the user cannot read
	 * (a root-only build tree, for an unprivileged run) fails the
	 * compile, and the compile needs none */
	if (chdir("/") != 0)
		r.status = -errno;
	dup2(errfd, STDERR_FILENO);
	dup2(errfd, STDOUT_FILENO);
	if (!r.status)
		r.status = bcc_bind(&api, r.err, sizeof(r.err));
	if (!r.status)
		r.status = load_all(&api, b, cache, fds, r.err,
				    sizeof(r.err));
	send_reply(sock, &r, r.status ? NULL : fds, r.status ? 0 : n);
	_exit(r.status ? 1 : 0);
}

static int recv_reply(int sock, struct reply *r, int *fds, int n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * COMPILE_MAX_FDS)];
	struct iovec iov = { r, sizeof(*r) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t got;

	do
		got = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (got < 0 && errno == EINTR);
	if (got != (ssize_t)sizeof(*r))
		return -EPROTO;
	if (r->status)
		return r->status;
	if (n == 0)
		return 0;
	c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int) * (size_t)n))
		return -EPROTO;
	memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)n);
	return 0;
}

static void show_output(int errfd, bool failed)
{
	char buf[4096];
	ssize_t n;

	if (!verbose && !failed)
		return;
	lseek(errfd, 0, SEEK_SET);
	while ((n = read(errfd, buf, sizeof(buf))) > 0)
		if (verbose)
			fwrite(buf, 1, (size_t)n, stderr);
}

int bpf_build_load(const struct bpf_build *b, int *prog_fds, int *map_fds,
		   char *err, size_t errlen)
{
	int sv[2], fds[COMPILE_MAX_FDS], errfd, status, i, rc;
	int n = b->nprogs + b->nmaps;
	char cache[PATH_MAX];
	bool cached;
	struct reply r;
	pid_t pid;

	if (n > COMPILE_MAX_FDS) {
		snprintf(err, errlen, "too many BPF objects (%d)", n);
		return -E2BIG;
	}
	cached = bpfcache_path(b, cache, sizeof(cache)) == 0;
	if (cached && bpfcache_load(cache, b, prog_fds, map_fds) == 0) {
		vmsg("BPF programs loaded from %s", cache);
		return 0;
	}
	rc = kernel_headers_check(err, errlen);
	if (rc)
		return rc;
	errfd = memfd_create("bcc-output", MFD_CLOEXEC);
	if (errfd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				    sv) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot set up the compiler: %s",
			 strerror(-rc));
		if (errfd >= 0)
			close(errfd);
		return rc;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		child_main(sv[1], errfd, b, cached ? cache : NULL);
	}
	close(sv[1]);
	rc = pid < 0 ? -errno : recv_reply(sv[0], &r, fds, n);
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	close(sv[0]);
	if (rc == -EPROTO)
		snprintf(err, errlen, "the BPF compiler process died (run with -v)");
	else if (rc)
		snprintf(err, errlen, "%s", r.err);
	show_output(errfd, rc != 0);
	close(errfd);
	if (rc)
		return rc;
	for (i = 0; i < b->nprogs; i++)
		prog_fds[i] = fds[i];
	for (i = 0; i < b->nmaps; i++)
		map_fds[i] = fds[b->nprogs + i];
	return 0;
}

int kernel_headers_check(char *err, size_t errlen)
{
	const char *const rel[] = { "build/include/linux/kconfig.h",
				    "source/include/linux/kconfig.h" };
	char path[512];
	struct utsname u;
	size_t i;

	uname(&u);
	for (i = 0; i < ARRAY_SIZE(rel); i++) {
		snprintf(path, sizeof(path), "/lib/modules/%s/%s", u.release,
			 rel[i]);
		if (access(path, R_OK) == 0)
			return 0;
	}
	if (access("/sys/kernel/kheaders.tar.xz", R_OK) == 0)
		return 0;
	snprintf(err, errlen,
		 "no kernel headers for %s in /lib/modules/%s/build; run "
		 "contrib/setup-host.sh (links Debian's linux-headers-amd64) "
		 "or install this kernel's headers",
		 u.release, u.release);
	return -ENOENT;
}
