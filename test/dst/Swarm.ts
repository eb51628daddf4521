// The run's shape, drawn from its seed (swarm testing, as TigerBeetle's VOPR): how many clients
// and keys, how fast and lossy the network is, how slow the disks, how often each fault comes,
// and whether the log is compacted often. Different seeds stress different corners.
import type { DiskConfig } from "./SimDisk.ts"
import type { FaultConfig } from "./Faults.ts"
import type { NetworkConfig } from "./SimNetwork.ts"
import type { Prng } from "./Prng.ts"
import type { SimMs } from "./Scheduler.ts"

export interface SwarmConfig {
  readonly registerClients: number
  readonly leaseClient: boolean
  readonly keys: number
  /** A client waits [1, thinkMsMax] ms between calls. */
  readonly thinkMsMax: SimMs
  readonly network: NetworkConfig
  readonly disk: DiskConfig
  readonly faults: FaultConfig
  /** Entries applied between snapshots (small: frequent compaction and snapshot installs). */
  readonly snapshotCount: number
}

export function drawSwarm(prng: Prng): SwarmConfig {
  const enabled = (): number => (prng.chance(0.75) ? prng.between(1, 4) : 0)
  return {
    registerClients: prng.between(2, 5),
    leaseClient: prng.chance(0.8),
    keys: prng.between(2, 5),
    thinkMsMax: prng.pick([5, 20, 100]),
    network: {
      latencyMsMin: 1,
      latencyMsMax: prng.between(2, 20),
      slowMsMax: prng.between(50, 800),
      slowProbability: prng.pick([0, 0.01, 0.05]),
      lossProbability: prng.pick([0, 0.01, 0.05, 0.15]),
      duplicateProbability: prng.pick([0, 0.01, 0.05]),
    },
    disk: {
      fsyncMsMin: 1,
      fsyncMsMax: prng.between(2, 10),
      slowFsyncProbability: prng.pick([0, 0.01, 0.05]),
      slowFsyncMsMax: prng.between(50, 1000),
    },
    faults: {
      weights: { partition: enabled(), crash: enabled(), pause: enabled(), leaderTransfer: enabled() },
      intervalMsMax: prng.pick([500, 1500, 4000]),
      durationMsMax: prng.pick([500, 2000, 5000]),
    },
    snapshotCount: prng.chance(0.5) ? prng.between(5, 40) : 10_000,
  }
}

export function describeSwarm(swarm: SwarmConfig): string {
  const { network, disk, faults } = swarm
  const weights = Object.entries(faults.weights).map(([action, weight]) => `${action}:${weight}`).join(",")
  return [
    `clients=${swarm.registerClients}${swarm.leaseClient ? "+lease" : ""} keys=${swarm.keys} think<=${swarm.thinkMsMax}ms`,
    `net=${network.latencyMsMin}-${network.latencyMsMax}ms slow=${network.slowProbability}(<=${network.slowMsMax}ms) ` +
      `loss=${network.lossProbability} dup=${network.duplicateProbability}`,
    `fsync=${disk.fsyncMsMin}-${disk.fsyncMsMax}ms slow=${disk.slowFsyncProbability}(<=${disk.slowFsyncMsMax}ms)`,
    `faults every<=${faults.intervalMsMax}ms lasting<=${faults.durationMsMax}ms weights=${weights}`,
    `snapshotCount=${swarm.snapshotCount}`,
  ].join("; ")
}
