//! Steering rules, kernel drop list and flow offload of a port's interface
//! (issue 5), as JS calls: conversion only, the logic is in afxdp-core::bpf.
//! Rule sets cross as JSON text (the shape of ts/steer/rules.ts).

use std::time::Duration;

use afxdp_core::bpf::{Action, RuleSet};
use napi::bindgen_prelude::Env;
use napi_derive::napi;

use crate::errors::{invalid_option, OrThrow};
use crate::NativeUmem;

#[napi(object)]
pub struct NativeSteeringCounters {
    pub steered_packets: f64,
    pub steered_bytes: f64,
    pub passed_packets: f64,
    pub passed_bytes: f64,
    pub dropped_packets: f64,
    pub dropped_bytes: f64,
    pub no_socket: f64,
    pub blocked: f64,
    pub offload_hits: f64,
    pub malformed: f64,
}

#[napi(object)]
pub struct NativeRuleCounter {
    /// Position of the rule; -1 for the default action.
    pub rule: i32,
    pub name: Option<String>,
    pub action: String,
    pub packets: f64,
    pub bytes: f64,
}

#[napi(object)]
pub struct NativeBlockEntry {
    pub prefix: String,
    /// Milliseconds left; -1 when it never expires.
    pub expires_in_ms: f64,
    pub packets: f64,
    pub bytes: f64,
}

#[napi(object)]
pub struct NativeOffloadEntry {
    pub proto: u32,
    pub src: String,
    pub dst: String,
    pub src_port: u32,
    pub dst_port: u32,
    pub action: String,
    pub expires_in_ms: f64,
    pub packets: f64,
    pub bytes: f64,
}

fn ttl(ms: Option<f64>) -> Option<Duration> {
    ms.filter(|ms| *ms > 0.0).map(|ms| Duration::from_secs_f64(ms / 1000.0))
}

fn expires_ms(d: Option<Duration>) -> f64 {
    d.map_or(-1.0, |d| d.as_secs_f64() * 1000.0)
}

fn kernel_action(env: &Env, action: &str) -> napi::Result<Action> {
    match action {
        "drop" => Ok(Action::Drop),
        "pass" => Ok(Action::Pass),
        other => Err(invalid_option(env, format!("a kernel action is 'drop' or 'pass', got {other:?}"))),
    }
}

#[napi]
impl NativeUmem {
    /// Replace the interface's rule set (JSON of ts/steer RuleSet).
    #[napi]
    pub fn set_rules(&mut self, env: &Env, port: u32, rules_json: String) -> napi::Result<()> {
        let rules = RuleSet::from_json(&rules_json).or_throw(env)?;
        self.group_mut().steering(port as usize).or_throw(env)?.set_rules(&rules).or_throw(env)
    }

    /// The rule set in force, as JSON.
    #[napi]
    pub fn rules(&mut self, env: &Env, port: u32) -> napi::Result<String> {
        Ok(self.group_mut().steering(port as usize).or_throw(env)?.rules().to_json())
    }

    #[napi]
    pub fn rule_counters(&mut self, env: &Env, port: u32) -> napi::Result<Vec<NativeRuleCounter>> {
        let counters = self.group_mut().steering(port as usize).or_throw(env)?.rule_counters().or_throw(env)?;
        Ok(counters
            .into_iter()
            .map(|c| NativeRuleCounter {
                rule: c.rule.map_or(-1, |r| r as i32),
                name: c.name,
                action: c.action.as_str().to_string(),
                packets: c.packets as f64,
                bytes: c.bytes as f64,
            })
            .collect())
    }

    #[napi]
    pub fn steering_counters(&mut self, env: &Env, port: u32) -> napi::Result<NativeSteeringCounters> {
        let c = self.group_mut().steering(port as usize).or_throw(env)?.counters().or_throw(env)?;
        Ok(NativeSteeringCounters {
            steered_packets: c.steered_packets as f64,
            steered_bytes: c.steered_bytes as f64,
            passed_packets: c.passed_packets as f64,
            passed_bytes: c.passed_bytes as f64,
            dropped_packets: c.dropped_packets as f64,
            dropped_bytes: c.dropped_bytes as f64,
            no_socket: c.no_socket as f64,
            blocked: c.blocked as f64,
            offload_hits: c.offload_hits as f64,
            malformed: c.malformed as f64,
        })
    }

    /// Drop frames from a source prefix in XDP, for `ttl_ms` (none: until unblocked).
    #[napi]
    pub fn block(&mut self, env: &Env, port: u32, prefix: String, ttl_ms: Option<f64>) -> napi::Result<()> {
        self.group_mut().steering(port as usize).or_throw(env)?.block(&prefix, ttl(ttl_ms)).or_throw(env)
    }

    #[napi]
    pub fn unblock(&mut self, env: &Env, port: u32, prefix: String) -> napi::Result<bool> {
        self.group_mut().steering(port as usize).or_throw(env)?.unblock(&prefix).or_throw(env)
    }

    #[napi]
    pub fn blocked(&mut self, env: &Env, port: u32) -> napi::Result<Vec<NativeBlockEntry>> {
        let entries = self.group_mut().steering(port as usize).or_throw(env)?.blocked().or_throw(env)?;
        Ok(entries
            .into_iter()
            .map(|e| NativeBlockEntry {
                prefix: e.prefix.to_string(),
                expires_in_ms: expires_ms(e.expires_in),
                packets: e.packets as f64,
                bytes: e.bytes as f64,
            })
            .collect())
    }

    /// Give the flow of `frame` a kernel verdict ("drop" or "pass") for
    /// `ttl_ms`. Returns false when the frame has no flow (not IP, malformed).
    #[napi]
    pub fn offload_frame(
        &mut self,
        env: &Env,
        port: u32,
        frame: &[u8],
        action: String,
        ttl_ms: Option<f64>,
    ) -> napi::Result<bool> {
        let action = kernel_action(env, &action)?;
        let steering = self.group_mut().steering(port as usize).or_throw(env)?;
        if afxdp_core::bpf::FlowKey::from_frame(frame).is_none() {
            return Ok(false);
        }
        steering.offload_frame(frame, action, ttl(ttl_ms)).map(|_| true).or_throw(env)
    }

    #[napi]
    pub fn offloads(&mut self, env: &Env, port: u32) -> napi::Result<Vec<NativeOffloadEntry>> {
        let entries = self.group_mut().steering(port as usize).or_throw(env)?.offloads().or_throw(env)?;
        Ok(entries
            .into_iter()
            .map(|e| NativeOffloadEntry {
                proto: u32::from(e.flow.proto),
                src: e.flow.src.to_string(),
                dst: e.flow.dst.to_string(),
                src_port: u32::from(e.flow.sport),
                dst_port: u32::from(e.flow.dport),
                action: e.action.as_str().to_string(),
                expires_in_ms: expires_ms(e.expires_in),
                packets: e.packets as f64,
                bytes: e.bytes as f64,
            })
            .collect())
    }

    #[napi]
    pub fn clear_offloads(&mut self, env: &Env, port: u32) -> napi::Result<()> {
        self.group_mut().steering(port as usize).or_throw(env)?.clear_offloads().or_throw(env)
    }
}

/// Runs the real steering program, loaded but attached nowhere, over
/// frames (BPF_PROG_RUN) with `rules_json` in force, and returns what it
/// did with each: "steer", "pass" or "drop". `frames` holds the frames back
/// to back, `lengths` their sizes. For checking rule sets against captures
/// (and the libpcap conformance test); needs CAP_BPF and CAP_NET_ADMIN.
#[napi]
pub fn steer_test_run(env: &Env, rules_json: String, frames: &[u8], lengths: &[u32]) -> napi::Result<Vec<String>> {
    let rules = RuleSet::from_json(&rules_json).or_throw(env)?;
    let program = afxdp_core::bpf::Steering::load_unattached().or_throw(env)?;
    program.set_rules(&rules).or_throw(env)?;
    let mut out = Vec::with_capacity(lengths.len());
    let mut at = 0usize;
    for &len in lengths {
        let end = at + len as usize;
        let frame = frames
            .get(at..end)
            .ok_or_else(|| invalid_option(env, "the frame lengths add up to more than the bytes given".into()))?;
        at = end;
        // No AF_XDP socket is bound, so a steered frame comes back as a
        // pass with the no_socket counter raised.
        let before = program.counters().or_throw(env)?.no_socket;
        let action = program.test_run(frame).or_throw(env)?;
        let after = program.counters().or_throw(env)?.no_socket;
        out.push(
            match action {
                1 => "drop",
                _ if after > before => "steer",
                _ => "pass",
            }
            .to_string(),
        );
    }
    Ok(out)
}
