// Five fault runs with network faults: partitions of the leader or of two members by blackhole,
// dropped or reset peer connections; some pauses and transfers (weights in Nemesis.ts).
import { faultSuite } from "./FaultSuite.ts"

faultSuite("network", 5)
