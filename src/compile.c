#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpfcache.h"
#include "compile.h"
#include "util.h"

/* What the child writes first into the image memfd. */
struct reply {
	int status;		/* 0 or -errno */
	char err[400];
};

struct bcc_api {
	void *(*create)(const char *, unsigned, const char *[], int, bool,
			const char *);
	char *(*license)(void *);
	unsigned (*kern_version)(void *);
	void *(*fn_start)(void *, const char *);
	size_t (*fn_size)(void *, const char *);
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
	BIND(license, "bpf_module_license");
	BIND(kern_version, "bpf_module_kern_version");
	BIND(fn_start, "bpf_function_start");
	BIND(fn_size, "bpf_function_size");
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

/* Compile with BCC and describe what it built: every table, and the
 * bytecode of each program asked for. */
static int bcc_image(const struct bcc_api *a, const struct bpf_build *b,
		     struct bpf_image *img, char *err, size_t len)
{
	const char **cflags;
	void *mod, *start;
	size_t i, n;

	cflags = calloc((size_t)b->ncflags + 1, sizeof(*cflags));
	if (!cflags)
		return -ENOMEM;
	for (i = 0; i < (size_t)b->ncflags; i++)
		cflags[i] = b->cflags[i];
	mod = a->create(b->text, 0, cflags, b->ncflags, true, NULL);
	free(cflags);
	if (!mod) {
		snprintf(err, len, "BPF compile failed (run with -v for the "
			 "compiler output)");
		return -EINVAL;
	}
	n = a->num_tables(mod);
	if (n > IMAGE_MAX_MAPS || b->nprogs > IMAGE_MAX_PROGS) {
		snprintf(err, len, "too many BPF maps or programs");
		return -E2BIG;
	}
	memset(img, 0, sizeof(*img));
	snprintf(img->license, sizeof(img->license), "%s", a->license(mod));
	img->kern_version = a->kern_version(mod);
	for (i = 0; i < n; i++) {
		struct image_map *m = &img->maps[i];

		snprintf(m->name, sizeof(m->name), "%s", a->table_name(mod, i));
		m->type = (uint32_t)a->table_type_id(mod, i);
		m->key_size = (uint32_t)a->table_key_size_id(mod, i);
		m->value_size = (uint32_t)a->table_leaf_size_id(mod, i);
		m->max_entries = (uint32_t)a->table_max_entries_id(mod, i);
		m->flags = (uint32_t)a->table_flags_id(mod, i);
		m->fd = a->table_fd_id(mod, i);
	}
	img->nmaps = (int)n;
	for (i = 0; i < (size_t)b->nprogs; i++) {
		struct image_prog *p = &img->progs[i];

		start = a->fn_start(mod, b->progs[i].name);
		if (!start) {
			snprintf(err, len, "BPF program %s not found",
				 b->progs[i].name);
			return -ENOENT;
		}
		snprintf(p->name, sizeof(p->name), "%s", b->progs[i].name);
		p->type = b->progs[i].type;
		p->attach_type = b->progs[i].attach_type;
		p->ninsns = (uint32_t)(a->fn_size(mod, b->progs[i].name) / 8);
		p->insns = start;	/* BCC's: encoded, never freed */
		img->nprogs++;
	}
	return 0;
}

static void child_main(int outfd, int errfd, const struct bpf_build *b,
		       pid_t parent)
{
	static struct bpf_image img;
	struct bcc_api api = { 0 };
	struct reply r;
	void *buf = NULL;
	size_t len = 0;

	/* die with the tool; a Ctrl-C to the process group is the tool's
	 * to handle, after the compile */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)	/* the tool died before that */
		_exit(1);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
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
		r.status = bcc_image(&api, b, &img, r.err, sizeof(r.err));
	if (!r.status)
		r.status = image_encode(&img, &buf, &len);
	if (write_full(outfd, &r, sizeof(r)) || (buf && write_full(outfd, buf, len)))
		_exit(2);
	_exit(r.status ? 1 : 0);
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

/* Did the compiler say it ran out of file descriptors?  (BCC creates
 * the maps while compiling, one descriptor each.) */
static bool out_of_fds(int errfd)
{
	const char *needle = strerror(EMFILE);
	size_t keep = strlen(needle);
	char buf[8192];
	off_t at = 0;
	ssize_t n;

	while ((n = pread(errfd, buf, sizeof(buf) - 1, at)) > 0) {
		buf[n] = '\0';
		if (strstr(buf, needle))
			return true;
		if ((size_t)n <= keep)
			break;
		at += n - (ssize_t)keep;	/* a match across two reads */
	}
	return false;
}

/* The child's reply and image, from the memfd it wrote. */
static int read_reply(int fd, struct bpf_image *img, char *err, size_t errlen)
{
	struct reply r;
	struct stat st;
	char *buf;
	size_t len;
	int rc;

	if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(r) ||
	    pread(fd, &r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		snprintf(err, errlen, "the BPF compiler process died (run "
			 "with -v)");
		return -EPROTO;
	}
	r.err[sizeof(r.err) - 1] = '\0';
	if (r.status) {
		snprintf(err, errlen, "%s", r.err);
		return r.status;
	}
	len = (size_t)st.st_size - sizeof(r);
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	rc = pread(fd, buf, len, sizeof(r)) == (ssize_t)len ?
		     image_decode(buf, len, img) : -EBADMSG;
	free(buf);
	if (rc)
		snprintf(err, errlen, "the BPF compiler process sent a "
			 "damaged image");
	return rc;
}

int bpf_compile(const struct bpf_build *b, struct bpf_image *img, char *err,
		size_t errlen)
{
	int outfd, errfd, status, rc;
	pid_t pid, self = getpid();

	rc = kernel_headers_check(err, errlen);
	if (rc)
		return rc;
	outfd = memfd_create("bcc-image", MFD_CLOEXEC);
	errfd = memfd_create("bcc-output", MFD_CLOEXEC);
	if (outfd < 0 || errfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot set up the compiler: %s",
			 strerror(-rc));
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		child_main(outfd, errfd, b, self);
	if (pid < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot start the compiler: %s",
			 strerror(-rc));
		goto out;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	rc = read_reply(outfd, img, err, errlen);
	if (rc == -EINVAL && out_of_fds(errfd))
		snprintf(err, errlen, "BPF compile failed: %s; raise ulimit -n",
			 strerror(EMFILE));
	show_output(errfd, rc != 0);
out:
	if (outfd >= 0)
		close(outfd);
	if (errfd >= 0)
		close(errfd);
	return rc;
}

int bpf_build_load(const struct bpf_build *b, struct bpf_obj *obj, char *err,
		   size_t errlen)
{
	static struct bpf_image img;
	int rc;

	rc = bpfcache_get(b, &img);
	if (rc) {
		rc = bpf_compile(b, &img, err, errlen);
		if (rc)
			return rc;
		bpfcache_put(b, &img);
	}
	rc = image_load(&img, obj, err, errlen);
	image_free(&img);
	return rc;
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
