/* version.h - the version every program's --version prints (cli.h).
 *
 * Generated at build time by common/version.cmake into the build tree:
 * gk_version is project(VERSION) of the top CMakeLists.txt, gk_git the
 * output of `git describe --always --dirty` of the source tree ("" when the
 * source is not a git checkout). */
#ifndef GK_VERSION_H
#define GK_VERSION_H

extern const char gk_version[];
extern const char gk_git[];

#endif
