# The image's fixed inputs, sourced by image/build, image/assemble and the tests.
# Every value here is committed: two builds from the same commit get the same
# partition table, filesystem UUIDs and volume ids (no random seed anywhere).
# shellcheck shell=bash

SUITE=${SUITE:-bookworm}
ARCH=arm64
# Debian's mirror; SNAPSHOT=YYYYMMDDTHHMMSSZ switches every source to
# snapshot.debian.org at that instant (then the lock's versions are there for good).
MIRROR=${MIRROR:-http://deb.debian.org}
SNAPSHOT=${SNAPSHOT:-}
COMPONENTS="main non-free-firmware"

# MBR disk signature: each partition's PARTUUID is "<signature>-<nn>", so
# KROOT_A (p5) is 4b494f53-05 and KROOT_B (p6) is 4b494f53-06 ("KIOS").
DISK_SIGNATURE=0x4b494f53
# FAT volume ids (mkfs.vfat -i) and the data partition's ext4 UUID and hash seed.
SEL_VOLID=4b53454c   # KSEL
BOOT_A_VOLID=4b424f41 # KBOA
BOOT_B_VOLID=4b424f42 # KBOB
DATA_UUID=4b494f53-4b44-4154-8000-000000000001
DATA_HASH_SEED=4b494f53-4b44-4154-8000-000000000002

# Partition sizes (genimage units). Overridable so the layout test stays small.
SEL_SIZE=${SEL_SIZE:-32M}
BOOT_SIZE=${BOOT_SIZE:-256M}
ROOT_SIZE=${ROOT_SIZE:-1536M}
DATA_SIZE=${DATA_SIZE:-2G}
ALIGN=${ALIGN:-4M}

# Partition numbers (autoboot.txt's boot_partition counts these; MBR primaries are
# 1-4, so the two boot slots must be primaries: 4 is the extended partition).
PART_SEL=1
PART_BOOT_A=2
PART_BOOT_B=3
PART_ROOT_A=5
PART_ROOT_B=6
PART_DATA=7

partuuid() { printf '%08x-%02x' "$((DISK_SIGNATURE))" "$1"; }
