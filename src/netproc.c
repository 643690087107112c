#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netproc.h"

/* The kernel prints an address as 32-bit words in host byte order, each
 * with %08X: the bytes of each word come out reversed on little-endian
 * machines.  Reading a word back with strtoul and storing it natively
 * restores the bytes. */
static int hex_addr(const char *s, size_t nwords, uint8_t *out)
{
	char word[9];
	uint32_t w;
	size_t i;
	char *end;

	for (i = 0; i < nwords; i++) {
		memcpy(word, s + i * 8, 8);
		word[8] = '\0';
		w = (uint32_t)strtoul(word, &end, 16);
		if (*end)
			return -EINVAL;
		memcpy(out + i * 4, &w, 4);
	}
	return 0;
}

static int hex_endpoint(const char *s, int family, uint8_t *addr,
			uint16_t *port)
{
	size_t nwords = family == AF_INET6 ? 4 : 1;
	unsigned long p;
	char *end;

	if (strlen(s) != nwords * 8 + 5 || s[nwords * 8] != ':')
		return -EINVAL;
	memset(addr, 0, 16);
	if (hex_addr(s, nwords, addr))
		return -EINVAL;
	p = strtoul(s + nwords * 8 + 1, &end, 16);
	if (*end || p > 65535)
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}

int tcp_line_parse(const char *line, int family, struct tcp_entry *e)
{
	char local[64], remote[64];
	unsigned st;
	unsigned long long inode;
	int n = 0;

	memset(e, 0, sizeof(*e));
	e->fd = -1;
	/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
	if (sscanf(line, " %*u: %63s %63s %x %*x:%*x %*x:%*x %*x %*u %*u %llu%n",
		   local, remote, &st, &inode, &n) != 4 || !n)
		return -EINVAL;
	e->family = family;
	e->state = (int)st;
	e->inode = inode;
	if (hex_endpoint(local, family, e->laddr, &e->lport) ||
	    hex_endpoint(remote, family, e->raddr, &e->rport))
		return -EINVAL;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Socket inodes of pid's fds, sorted; fds[i] is the fd of inodes[i]. */
static int socket_fds(pid_t pid, uint64_t **inodes, int **fds, int *n)
{
	char dir[64], link[352], target[64];
	struct { uint64_t ino; int fd; } *v = NULL, *p;
	int cap = 0, k = 0, i, err = 0;
	struct dirent *de;
	ssize_t len;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, "socket:[", 8) != 0)
			continue;
		if (k == cap) {
			cap = cap ? cap * 2 : 64;
			p = realloc(v, sizeof(*v) * (size_t)cap);
			if (!p) {
				err = -ENOMEM;
				break;
			}
			v = p;
		}
		v[k].ino = strtoull(target + 8, NULL, 10);
		v[k++].fd = atoi(de->d_name);
	}
	closedir(d);
	if (err) {
		free(v);
		return err;
	}
	if (k > 1)	/* v is NULL when the process has no socket */
		qsort(v, (size_t)k, sizeof(*v), cmp_u64);
	*inodes = malloc(sizeof(**inodes) * (size_t)(k + 1));
	*fds = malloc(sizeof(**fds) * (size_t)(k + 1));
	if (!*inodes || !*fds) {
		free(*inodes);
		free(*fds);
		free(v);
		return -ENOMEM;
	}
	for (i = 0; i < k; i++) {
		(*inodes)[i] = v[i].ino;
		(*fds)[i] = v[i].fd;
	}
	free(v);
	*n = k;
	return 0;
}

int tcp_sockets_of(pid_t pid, struct tcp_entry **out, int *n)
{
	static const char *const files[2] = { "tcp", "tcp6" };
	static const int families[2] = { AF_INET, AF_INET6 };
	uint64_t *inodes = NULL, *hit;
	int *fds = NULL, ninodes = 0, k = 0, cap = 0, f, err;
	struct tcp_entry e, *v = NULL, *p;
	char path[64], line[512];
	FILE *fp;

	*out = NULL;
	*n = 0;
	err = socket_fds(pid, &inodes, &fds, &ninodes);
	if (err)
		return err;
	for (f = 0; f < 2 && !err; f++) {
		snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid,
			 files[f]);
		fp = fopen(path, "re");
		if (!fp) {
			/* no IPv6 in this kernel: no tcp6 */
			if (errno != ENOENT)
				err = -errno;
			continue;
		}
		while (!err && fgets(line, sizeof(line), fp)) {
			if (tcp_line_parse(line, families[f], &e) || !e.inode)
				continue;
			hit = bsearch(&e.inode, inodes, (size_t)ninodes,
				      sizeof(*inodes), cmp_u64);
			if (!hit)
				continue;
			e.fd = fds[hit - inodes];
			if (k == cap) {
				cap = cap ? cap * 2 : 32;
				p = realloc(v, sizeof(*v) * (size_t)cap);
				if (!p) {
					err = -ENOMEM;
					break;
				}
				v = p;
			}
			v[k++] = e;
		}
		fclose(fp);
	}
	free(inodes);
	free(fds);
	if (err) {
		free(v);
		return err;
	}
	*out = v;
	*n = k;
	return 0;
}

void addr_str(char *buf, size_t len, int family, const uint8_t *addr)
{
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, buf,
		       (socklen_t)len))
		snprintf(buf, len, "?");
}

void addr_port_str(char *buf, size_t len, int family, const uint8_t *addr,
		   uint16_t port)
{
	char a[INET6_ADDRSTRLEN];

	addr_str(a, sizeof(a), family, addr);
	if (family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
}
