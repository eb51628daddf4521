// Fault runs with every kind of fault in the mix (see Nemesis.ts).
import { mixedFaults } from "./Nemesis.ts"
import { faultSuite } from "./FaultSuite.ts"

faultSuite("mixed faults", 1, mixedFaults)
