// Five fault runs with membership changes: a member (maybe the leader) removed and a fresh one
// added, or a learner added, promoted and another member removed; transfers, a kill or a partition
// between them (weights in Nemesis.ts).
import { faultSuite } from "./FaultSuite.ts"

faultSuite("membership", 5)
