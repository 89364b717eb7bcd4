//! The Rust mirrors of bpf/afxdp.h have the sizes recorded in the compiled
//! objects' BTF (read with bpftool; no privileges needed).

mod common;

use afxdp_core::bpf::abi;

/// Size of `struct NAME` in the BTF of `object`, from `bpftool btf dump`.
fn btf_struct_size(object: &str, name: &str) -> usize {
    let path = common::bpf_object(object);
    let out = common::stdout(&common::run(&["bpftool", "btf", "dump", "file", &path]));
    let needle = format!("STRUCT '{name}' size=");
    let line =
        out.lines().find(|l| l.contains(&needle)).unwrap_or_else(|| panic!("struct {name} not in the BTF of {object}"));
    let size = line.split(&needle).nth(1).unwrap().split_whitespace().next().unwrap();
    size.parse().unwrap()
}

#[test]
fn counters_match_btf() {
    assert_eq!(btf_struct_size("steer.bpf.o", "afxdp_counters"), std::mem::size_of::<abi::RawCounters>());
}

#[test]
fn trafficgen_config_matches_btf() {
    assert_eq!(btf_struct_size("trafficgen.bpf.o", "afxdp_tg_config"), std::mem::size_of::<abi::TgConfig>());
}

#[test]
fn rule_and_table_structs_match_btf() {
    let steer = "steer.bpf.o";
    assert_eq!(btf_struct_size(steer, "afxdp_ethertype_key"), std::mem::size_of::<abi::EthertypeKey>());
    assert_eq!(btf_struct_size(steer, "afxdp_ruleset"), std::mem::size_of::<abi::RawRuleSet>());
    assert_eq!(btf_struct_size(steer, "afxdp_rule_stats"), std::mem::size_of::<abi::RuleStats>());
    assert_eq!(btf_struct_size(steer, "afxdp_config"), std::mem::size_of::<abi::Config>());
    assert_eq!(btf_struct_size(steer, "afxdp_drop_value"), std::mem::size_of::<abi::DropValue>());
    assert_eq!(btf_struct_size(steer, "afxdp_flow_key"), std::mem::size_of::<abi::FlowKey>());
    assert_eq!(btf_struct_size(steer, "afxdp_flow_value"), std::mem::size_of::<abi::FlowValue>());
    // LPM keys: aya prepends the u32 prefix length to our key data.
    assert_eq!(btf_struct_size(steer, "afxdp_set_key4"), 4 + std::mem::size_of::<abi::SetKey4>());
    assert_eq!(btf_struct_size(steer, "afxdp_set_key6"), 4 + std::mem::size_of::<abi::SetKey6>());
}
