//! `IdentityGraph::add_batch_tracked` and `delete_profile_tracked` name every profile a change
//! touched: a store that rewrites only those stays equal to the whole resolution.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tessera::identity::{IdentityGraph, IdentitySettings, Profile};
use tessera::{CallType, Event, Timestamp};

fn event(n: usize, time: i64, user: Option<u8>, anon: Option<u8>, email: Option<u8>) -> Event {
    let mut traits = tessera::event::Object::new();
    if let Some(e) = email {
        traits.insert("email".into(), format!("e{e}@x.com").into());
    }
    Event {
        message_id: format!("m{n:04}"),
        call: CallType::Identify,
        name: None,
        user_id: user.map(|u| format!("u{u}")),
        anonymous_id: anon.map(|a| format!("a{a}")),
        previous_id: None,
        group_id: None,
        time: Timestamp(time),
        received_at: None,
        properties: Default::default(),
        traits,
        context: Default::default(),
        integrations: Default::default(),
    }
}

fn all_profiles(graph: &mut IdentityGraph) -> BTreeMap<String, Profile> {
    graph
        .resolution()
        .profiles
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect()
}

/// Applies the reported changes to `mirror` the way the edge does.
fn apply(
    graph: &IdentityGraph,
    mirror: &mut BTreeMap<String, Profile>,
    changes: &tessera::identity::ProfileChanges,
) {
    for id in &changes.removed {
        mirror.remove(id);
    }
    for id in &changes.current {
        let profile = graph.profile(id).expect("a current id resolves");
        assert_eq!(&profile.id, id, "current ids are not redirects");
        mirror.insert(id.clone(), profile);
    }
}

type Spec = (i64, Option<u8>, Option<u8>, Option<u8>);

fn spec() -> impl Strategy<Value = Spec> {
    (
        0i64..50,
        proptest::option::of(0u8..4),
        proptest::option::of(0u8..8),
        proptest::option::of(0u8..4),
    )
}

proptest! {
    #[test]
    fn a_mirror_updated_from_the_changes_equals_the_resolution(
        batches in proptest::collection::vec(proptest::collection::vec(spec(), 1..6), 1..8),
        delete_at in 0usize..8,
    ) {
        let mut graph = IdentityGraph::new(&IdentitySettings::default());
        let mut mirror = BTreeMap::new();
        let mut n = 0;
        for (b, batch) in batches.iter().enumerate() {
            let events: Vec<Event> = batch
                .iter()
                .map(|&(t, u, a, e)| {
                    n += 1;
                    event(n, t, u, a, e)
                })
                .collect();
            let (_, changes) = graph.add_batch_tracked(&events);
            apply(&graph, &mut mirror, &changes);
            prop_assert_eq!(&mirror, &all_profiles(&mut graph));
            if b == delete_at {
                if let Some(id) = mirror.keys().next().cloned() {
                    let (deletion, changes) = graph.delete_profile_tracked(&id).expect("exists");
                    prop_assert_eq!(&deletion.profile_id, &id);
                    prop_assert!(changes.removed.contains(&id));
                    apply(&graph, &mut mirror, &changes);
                    prop_assert_eq!(&mirror, &all_profiles(&mut graph));
                }
            }
        }
    }
}

#[test]
fn profile_events_lists_a_profiles_messages_in_canonical_order() {
    let events = [
        event(1, 20, Some(1), Some(1), None),
        event(2, 10, None, Some(1), None),
        event(3, 30, Some(2), Some(2), None),
    ];
    let graph = IdentityGraph::from_events(&events, &IdentitySettings::default());
    let id = graph.profile_by_identifier("user_id", "u1").expect("u1").id;
    let listed = graph.profile_events(&id).expect("profile");
    assert_eq!(
        listed,
        vec![(Timestamp(10), "m0002"), (Timestamp(20), "m0001")]
    );
    assert_eq!(graph.profile_events("p_0000000000000000"), None);
}

#[test]
fn a_late_event_that_merges_reports_the_merged_away_profile() {
    let mut graph = IdentityGraph::new(&IdentitySettings::default());
    let (_, first) = graph.add_batch_tracked(&[
        event(1, 10, None, Some(1), None),
        event(2, 20, Some(1), None, None),
    ]);
    assert_eq!(first.current.len(), 2);
    let (_, late) = graph.add_batch_tracked(&[event(3, 5, Some(1), Some(1), None)]);
    assert_eq!(late.current.len(), 1);
    assert_eq!(late.removed.len(), 1);
    assert!(!late.current.contains(&late.removed[0]));
}
