/* An instance's network, as its monitor sees it: attach, the /etc files, detach. */
#include "instance-net.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/cidr.h"
#include "util.h"

int nk_instance_net_bridged(const struct nk_spec *spec)
{
	return spec->network && strcmp(spec->network, "none") != 0 && strcmp(spec->network, "host") != 0;
}

int nk_instance_net_check(const struct nk_paths *paths, const char *network, struct nk_err *err)
{
	if (!network || !strcmp(network, "bridge") || !strcmp(network, "none") || !strcmp(network, "host") ||
	    !strcmp(network, "nook"))
		return 0;
	struct nk_network net;
	int r = nk_network_name_check(network, err);
	if (r < 0)
		return r;
	r = nk_network_load(paths->root, network, &net, err);
	if (r == -ENOENT)
		return nk_err_msg(err, ENOENT, "no such network: %s (see `nook net ls`, or create it with "
					       "`nook net create %s`)", network, network);
	return r;
}

/* Rewrite a file in place: it is bind-mounted into a running container, and a rename
 * would leave the container looking at the old inode. */
static int write_in_place(const char *path, const char *text, struct nk_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return nk_err_set(err, errno, "cannot write %s", path);
	int r = nk_write_all(fd, text, strlen(text));
	close(fd);
	return r < 0 ? nk_err_set(err, -r, "cannot write %s", path) : 0;
}

static int etc_path(const struct nk_paths *paths, const char *name, const char *file, char *out, size_t size)
{
	char rel[64];
	snprintf(rel, sizeof(rel), "etc/%s", file);
	return nk_path_instance(paths, name, rel, out, size);
}

/* hosts for one member: localhost, itself, then everyone else on its network. */
static int write_hosts(const struct nk_paths *paths, const char *name, const char *own_ip,
		       const struct nk_lease *leases, size_t count, struct nk_err *err)
{
	char text[16384], ip[16];
	size_t used = (size_t)snprintf(text, sizeof(text),
				       "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
	if (own_ip && *own_ip)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s\t%s\n", own_ip, name);
	else
		used += (size_t)snprintf(text + used, sizeof(text) - used, "127.0.1.1\t%s\n", name);
	for (size_t i = 0; i < count && used < sizeof(text) - 128; i++) {
		if (!strcmp(leases[i].instance, name) || nk_ip4_format(leases[i].addr, ip, sizeof(ip)) < 0)
			continue;
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s\t%s\n", ip, leases[i].instance);
	}
	char path[PATH_MAX];
	if (etc_path(paths, name, "hosts", path, sizeof(path)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	return write_in_place(path, text, err);
}

void nk_instance_net_refresh_hosts(const struct nk_paths *paths, const char *network)
{
	struct nk_lease *leases = NULL;
	size_t count = 0;
	struct nk_err err;
	if (nk_ipam_list(paths->root, network, &leases, &count, &err) < 0)
		return;
	for (size_t i = 0; i < count; i++) {
		char ip[16], path[PATH_MAX];
		if (nk_ip4_format(leases[i].addr, ip, sizeof(ip)) < 0 ||
		    etc_path(paths, leases[i].instance, "hosts", path, sizeof(path)) < 0 || access(path, F_OK) < 0)
			continue;
		(void)!write_hosts(paths, leases[i].instance, ip, leases, count, &err);
	}
	free(leases);
}

/* The host's resolvers, minus loopback ones (unreachable from another namespace). */
static void resolv_conf(char *text, size_t size)
{
	size_t used = (size_t)snprintf(text, size, "# written by nook from the host's resolv.conf\n");
	FILE *f = fopen("/etc/resolv.conf", "re");
	char line[512];
	while (f && fgets(line, sizeof(line), f) && used < size - sizeof(line)) {
		if (!strncmp(line, "nameserver", 10) && (strstr(line, " 127.") || strstr(line, " ::1")))
			continue;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		used += (size_t)snprintf(text + used, size - used, "%s", line);
	}
	if (f)
		fclose(f);
}

int nk_instance_net_files(const struct nk_paths *paths, const struct nk_spec *spec, const char *ip,
			  struct nk_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX], text[4096];
	if (nk_path_instance(paths, spec->name, "etc", dir, sizeof(dir)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return nk_err_set(err, errno, "cannot create %s", dir);
	int r = write_hosts(paths, spec->name, ip, NULL, 0, err);
	if (r < 0)
		return r;
	snprintf(text, sizeof(text), "%s\n", spec->hostname ? spec->hostname : spec->name);
	if (etc_path(paths, spec->name, "hostname", path, sizeof(path)) < 0 || (r = write_in_place(path, text, err)) < 0)
		return r < 0 ? r : nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	resolv_conf(text, sizeof(text));
	if (etc_path(paths, spec->name, "resolv.conf", path, sizeof(path)) < 0)
		return nk_err_msg(err, ENAMETOOLONG, "NOOK_ROOT is too long");
	return write_in_place(path, text, err);
}

int nk_instance_net_attach(struct nk_instance_net *in, const struct nk_paths *paths,
			   const struct nk_spec *spec, pid_t child, struct nk_err *err)
{
	memset(in, 0, sizeof(*in));
	if (!nk_instance_net_bridged(spec))
		return 0; /* the files written before the clone are final */
	int r = nk_nl_open(&in->nl, err);
	if (r < 0)
		return r;
	int fd = nk_netns_open_pid(child, err);
	if (fd < 0)
		return fd;
	r = nk_net_attach(in->nl, paths->root, spec->network, spec->name, fd, &in->at, err);
	close(fd);
	if (r < 0)
		return nk_err_prefix(err, "joining network %s", spec->network);
	in->attached = 1;
	char ip[16];
	if ((r = nk_ip4_format(in->at.addr, ip, sizeof(ip))) < 0 || (r = nk_instance_net_files(paths, spec, ip, err)) < 0) {
		nk_instance_net_detach(in, paths, spec->network, spec->name, 1);
		return r;
	}
	nk_instance_net_refresh_hosts(paths, spec->network);
	return 0;
}

void nk_instance_net_detach(struct nk_instance_net *in, const struct nk_paths *paths, const char *network,
			    const char *name, int delete_link)
{
	struct nk_err err;
	if (!network || !strcmp(network, "none") || !strcmp(network, "host"))
		return;
	if (!in->nl && nk_nl_open(&in->nl, &err) < 0)
		in->nl = NULL;
	if (in->nl)
		(void)!nk_net_detach(in->nl, paths->root, network, name, delete_link, &err);
	else
		(void)!nk_ipam_release(paths->root, network, name, &err);
	in->attached = 0;
	nk_instance_net_refresh_hosts(paths, network);
	if (in->nl)
		nk_nl_close(in->nl);
	in->nl = NULL;
}
