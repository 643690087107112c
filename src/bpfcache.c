#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bpfcache.h"
#include "util.h"

#define MAGIC "CKBIMG03"
#define MAX_INSNS 1000000
#define MAX_ENTRY (64u << 20)

struct enc_head {
	char magic[8];
	uint64_t len;		/* of the whole encoding */
	uint64_t sum;		/* FNV-1a over the whole encoding, this 0 */
	uint32_t nmaps, nprogs, kern_version, pad;
	char license[16];
	char key[48];
};

struct enc_prog {
	char name[IMAGE_NAME_LEN];
	uint32_t type;
	int32_t attach_type;
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

static uint64_t checksum(const void *buf, size_t len)
{
	struct enc_head h;

	memcpy(&h, buf, sizeof(h));
	h.sum = 0;
	return fnv(fnv(14695981039346656037ull, &h, sizeof(h)),
		   (const char *)buf + sizeof(h), len - sizeof(h));
}

int image_encode(const struct bpf_image *img, void **out, size_t *outlen)
{
	struct enc_head h;
	struct enc_prog ep;
	size_t len = sizeof(h) + sizeof(img->maps[0]) * (size_t)img->nmaps;
	char *buf, *p;
	int i;

	for (i = 0; i < img->nprogs; i++)
		len += sizeof(ep) + 8 * (size_t)img->progs[i].ninsns;
	buf = calloc(1, len);
	if (!buf)
		return -ENOMEM;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, MAGIC, 8);
	h.len = len;
	h.nmaps = (uint32_t)img->nmaps;
	h.nprogs = (uint32_t)img->nprogs;
	h.kern_version = img->kern_version;
	memcpy(h.license, img->license, sizeof(h.license));
	memcpy(h.key, img->key, sizeof(h.key));
	memcpy(buf, &h, sizeof(h));
	p = buf + sizeof(h);
	memcpy(p, img->maps, sizeof(img->maps[0]) * (size_t)img->nmaps);
	p += sizeof(img->maps[0]) * (size_t)img->nmaps;
	for (i = 0; i < img->nprogs; i++) {
		memset(&ep, 0, sizeof(ep));
		memcpy(ep.name, img->progs[i].name, sizeof(ep.name));
		ep.type = img->progs[i].type;
		ep.attach_type = img->progs[i].attach_type;
		ep.ninsns = img->progs[i].ninsns;
		memcpy(p, &ep, sizeof(ep));
		p += sizeof(ep);
		memcpy(p, img->progs[i].insns, 8 * (size_t)ep.ninsns);
		p += 8 * (size_t)ep.ninsns;
	}
	h.sum = checksum(buf, len);
	memcpy(buf, &h, sizeof(h));
	*out = buf;
	*outlen = len;
	return 0;
}

int image_decode(const void *buf, size_t len, struct bpf_image *img)
{
	const char *p = buf, *end = p + len;
	struct enc_head h;
	struct enc_prog ep;
	size_t msize;
	uint32_t i;

	memset(img, 0, sizeof(*img));
	if (len < sizeof(h))
		return -EBADMSG;
	memcpy(&h, p, sizeof(h));
	if (memcmp(h.magic, MAGIC, 8) != 0 || h.len != len ||
	    h.sum != checksum(buf, len) || h.nmaps > IMAGE_MAX_MAPS ||
	    h.nprogs > IMAGE_MAX_PROGS)
		return -EBADMSG;
	p += sizeof(h);
	msize = sizeof(img->maps[0]) * h.nmaps;
	if ((size_t)(end - p) < msize)
		return -EBADMSG;
	memcpy(img->maps, p, msize);
	p += msize;
	img->nmaps = (int)h.nmaps;
	for (i = 0; i < h.nmaps; i++)
		img->maps[i].name[IMAGE_NAME_LEN - 1] = '\0';
	memcpy(img->license, h.license, sizeof(img->license));
	img->license[sizeof(img->license) - 1] = '\0';
	memcpy(img->key, h.key, sizeof(img->key));
	img->key[sizeof(img->key) - 1] = '\0';
	img->kern_version = h.kern_version;
	for (i = 0; i < h.nprogs; i++) {
		struct image_prog *ip = &img->progs[i];

		if ((size_t)(end - p) < sizeof(ep))
			goto bad;
		memcpy(&ep, p, sizeof(ep));
		p += sizeof(ep);
		if (!ep.ninsns || ep.ninsns > MAX_INSNS ||
		    (size_t)(end - p) < 8 * (size_t)ep.ninsns)
			goto bad;
		ip->insns = malloc(8 * (size_t)ep.ninsns);
		if (!ip->insns) {
			image_free(img);
			return -ENOMEM;
		}
		memcpy(ip->insns, p, 8 * (size_t)ep.ninsns);
		p += 8 * (size_t)ep.ninsns;
		memcpy(ip->name, ep.name, sizeof(ip->name));
		ip->name[IMAGE_NAME_LEN - 1] = '\0';
		ip->type = ep.type;
		ip->attach_type = ep.attach_type;
		ip->ninsns = ep.ninsns;
		img->nprogs++;
	}
	if (p == end)
		return 0;
bad:
	image_free(img);
	return -EBADMSG;
}

/* ---- the cache ---- */

static const char *cache_dir(void)
{
	const char *dir = getenv("CKBTRACE_CACHE_DIR");

	return dir && *dir ? dir : "/var/cache/ckbtrace";
}

/* The checked cache directory, opened; -1 when caching is off or the
 * directory is refused (said once). */
static int cache_dir_open(void)
{
	static bool warned;
	const char *dir = cache_dir();
	char why[128] = "";
	struct stat st;
	int fd;

	if (getenv("CKBTRACE_NO_CACHE"))
		return -1;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(why, sizeof(why), "cannot create it: %s",
			 strerror(errno));
		fd = -1;
		goto refuse;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		snprintf(why, sizeof(why), "cannot open it: %s",
			 strerror(errno));
	else if (fstat(fd, &st) != 0)
		snprintf(why, sizeof(why), "cannot stat it: %s",
			 strerror(errno));
	else if (st.st_uid != geteuid())
		snprintf(why, sizeof(why), "it belongs to uid %u, not to uid "
			 "%u", (unsigned)st.st_uid, (unsigned)geteuid());
	else if (st.st_mode & 022)
		snprintf(why, sizeof(why), "others can write it (mode %04o)",
			 (unsigned)(st.st_mode & 07777));
	if (!why[0])
		return fd;
	if (fd >= 0)
		close(fd);
refuse:
	if (!warned)
		msg("not using the BPF cache %s: %s; compiling instead (set "
		    "CKBTRACE_CACHE_DIR to a directory only you can write)",
		    dir, why);
	warned = true;
	return -1;
}

/* The entry's file name for build b. */
static void entry_name(const struct bpf_build *b, char *name, size_t len)
{
	uint64_t h[2] = { 14695981039346656037ull, 1469598103934665603ull };
	char buf[64], headers[PATH_MAX], real[PATH_MAX];
	struct utsname u;
	int i;

#define HASH(s)								\
	do {								\
		const char *s_ = (s);					\
		h[0] = fnv(h[0], s_, strlen(s_) + 1);			\
		h[1] = fnv(h[1] ^ 0x9e3779b97f4a7c15ull, s_, strlen(s_) + 1); \
	} while (0)
	uname(&u);
	snprintf(headers, sizeof(headers), "/lib/modules/%s/build", u.release);
	HASH(MAGIC);
	HASH(u.release);
	HASH(u.version);
	HASH(realpath(headers, real) ? real : "");
	HASH(b->text);
	for (i = 0; i < b->ncflags; i++)
		HASH(b->cflags[i]);
	for (i = 0; i < b->nprogs; i++) {
		snprintf(buf, sizeof(buf), "%u/%d", b->progs[i].type,
			 b->progs[i].attach_type);
		HASH(b->progs[i].name);
		HASH(buf);
	}
#undef HASH
	snprintf(name, len, "%016llx%016llx.bpf", (unsigned long long)h[0],
		 (unsigned long long)h[1]);
}

/* Read the entry open on fd into *buf: 0, -EPERM with why set when it
 * is not a regular file of ours that only we can write, -EBADMSG when
 * it is too short or too long, or -errno. */
static int read_entry(int fd, void **buf, size_t *len, char *why,
		      size_t whylen)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		snprintf(why, whylen, "it is not a regular file");
	else if (st.st_uid != geteuid())
		snprintf(why, whylen, "it belongs to uid %u, not to uid %u",
			 (unsigned)st.st_uid, (unsigned)geteuid());
	else if (st.st_mode & 022)
		snprintf(why, whylen, "others can write it (mode %04o)",
			 (unsigned)(st.st_mode & 07777));
	if (why[0])
		return -EPERM;
	if (st.st_size <= 0 || (uint64_t)st.st_size > MAX_ENTRY)
		return -EBADMSG;
	*len = (size_t)st.st_size;
	*buf = malloc(*len);
	if (!*buf)
		return -ENOMEM;
	while (got < *len) {
		n = read(fd, (char *)*buf + got, *len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == *len)
		return 0;
	free(*buf);
	*buf = NULL;
	return -EBADMSG;
}

int bpfcache_get(const struct bpf_build *b, struct bpf_image *img)
{
	char name[48], why[96] = "";
	void *buf = NULL;
	size_t len = 0;
	int dfd, fd, err;

	if (b->no_cache || (dfd = cache_dir_open()) < 0)
		return -ENOENT;
	entry_name(b, name, sizeof(name));
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
			      O_NONBLOCK);
	err = fd < 0 ? -errno : read_entry(fd, &buf, &len, why, sizeof(why));
	if (fd >= 0)
		close(fd);
	close(dfd);
	if (!err)
		err = image_decode(buf, len, img);
	free(buf);
	if (!err && strcmp(img->key, name) != 0) {
		/* whole and unaltered, but made for another build: an entry
		 * renamed or copied over this one */
		image_free(img);
		msg("BPF cache entry %s/%s was written for another build "
		    "(renamed or copied?); compiling again", cache_dir(), name);
		err = -ESTALE;
	}
	if (err == -ELOOP)
		snprintf(why, sizeof(why), "it is a symbolic link");
	if (err == -ELOOP || err == -EPERM)
		msg("not using BPF cache entry %s/%s: %s; compiling instead",
		    cache_dir(), name, why);
	else if (err == -EBADMSG)
		msg("BPF cache entry %s/%s is damaged (truncated or "
		    "altered); compiling again", cache_dir(), name);
	else if (!err)
		vmsg("BPF programs loaded from %s/%s", cache_dir(), name);
	return err == -ENOENT || err == -ELOOP || err == -EPERM ? -ENOENT :
								  err;
}

void bpfcache_put(const struct bpf_build *b, const struct bpf_image *img)
{
	static struct bpf_image keyed;
	char name[48], tmp[96];
	void *buf = NULL;
	size_t len;
	int dfd, fd, err;

	if (b->no_cache || (dfd = cache_dir_open()) < 0)
		return;
	entry_name(b, name, sizeof(name));
	snprintf(tmp, sizeof(tmp), ".%s.%d.tmp", name, (int)getpid());
	keyed = *img;	/* shares the bytecode, for encoding only */
	snprintf(keyed.key, sizeof(keyed.key), "%s", name);
	err = image_encode(&keyed, &buf, &len);
	fd = err ? -1 : openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
					    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (!err && fd < 0)
		err = -errno;
	if (!err)
		err = write_full(fd, buf, len);
	if (fd >= 0 && close(fd) != 0 && !err)
		err = -errno;
	if (!err && renameat(dfd, tmp, dfd, name) != 0)
		err = -errno;
	if (err && fd >= 0)
		unlinkat(dfd, tmp, 0);
	if (err)
		vmsg("cannot write BPF cache entry %s/%s: %s", cache_dir(),
		     name, strerror(-err));
	close(dfd);
	free(buf);
}
