//! The `Engine` class: one workspace of events, profiles and the segment store.

use serde_json::{json, Map, Value};
use tessera::activation::csv::ColumnSpec;
use tessera::identity::IdentitySettings;
use tessera::segment::SavedSegments;
use wasm_bindgen::prelude::*;

use crate::js;
use crate::workspace::{self, EngineError, Result, SuggestRequest, Workspace};

/// Tessera's engine over one set of events: ingest, profiles, segments, exports, suggestions.
#[wasm_bindgen]
pub struct Engine {
    workspace: Workspace,
}

fn thrown<T>(result: Result<T>) -> std::result::Result<T, JsValue> {
    result.map_err(js::error)
}

/// Saved segments for `in_segment`: an object id → document, or an array of documents with `id`.
fn saved_segments(value: Option<&Value>) -> Result<SavedSegments> {
    match value {
        None | Some(Value::Null) => Ok(SavedSegments::new()),
        Some(Value::Object(m)) => Ok(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        Some(Value::Array(docs)) => docs
            .iter()
            .enumerate()
            .map(|(i, doc)| match doc.get("id").and_then(Value::as_str) {
                Some(id) => Ok((id.to_owned(), doc.clone())),
                None => Err(EngineError::new(
                    "missing_id",
                    format!("options.segments[{i}].id"),
                    "a saved segment needs an id",
                )),
            })
            .collect(),
        Some(_) => Err(EngineError::new(
            "wrong_type",
            "options.segments",
            "saved segments are an object id → document, or an array of documents",
        )),
    }
}

/// The segment a call is about, and the evaluation time from its options.
fn segment_and_now(
    definition: &JsValue,
    options: &Map<String, Value>,
) -> Result<(tessera::segment::Segment, tessera::Timestamp)> {
    let saved = saved_segments(options.get("segments"))?;
    let segment = workspace::segment(&js::from_js(definition, "")?, &saved)?;
    let now = js::required_time(options.get("now"), "options.now")?;
    Ok((segment, now))
}

/// Columns as an array of names or one comma-separated string.
pub(crate) fn columns(value: Option<&Value>) -> Result<ColumnSpec> {
    let spec = || -> Result<ColumnSpec> {
        match value {
            None | Some(Value::Null) => Ok(ColumnSpec::default()),
            Some(Value::String(s)) => Ok(ColumnSpec::parse(s)?),
            Some(Value::Array(items)) => {
                let mut names = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    names.push(item.as_str().ok_or_else(|| {
                        EngineError::new(
                            "wrong_type",
                            format!("columns[{i}]"),
                            "a column is a string",
                        )
                    })?);
                }
                Ok(ColumnSpec::from_names(names)?)
            }
            Some(_) => Err(EngineError::new(
                "wrong_type",
                "columns",
                "columns are an array of names or a comma-separated string",
            )),
        }
    };
    spec().map_err(|e| e.under("options"))
}

#[wasm_bindgen]
impl Engine {
    /// An empty engine; `options.identity` holds the identity settings
    /// (`{priorities?, limits?}`).
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> std::result::Result<Engine, JsValue> {
        thrown((|| {
            let options = js::options(&options)?;
            let settings = match options.get("identity") {
                None | Some(Value::Null) => IdentitySettings::default(),
                Some(v) => IdentitySettings::from_value(v)
                    .map_err(|e| EngineError::from(e).under("options.identity"))?,
            };
            Ok(Engine {
                workspace: Workspace::new(&settings),
            })
        })())
    }

    /// An engine over a snapshot written by `snapshot()` (or `tessera snapshot`): it evaluates,
    /// previews, exports profile ids and suggests; profiles and explanations need events.
    #[wasm_bindgen(js_name = fromSnapshot)]
    pub fn from_snapshot(bytes: &[u8]) -> std::result::Result<Engine, JsValue> {
        thrown(Workspace::from_snapshot(bytes).map(|workspace| Engine { workspace }))
    }

    /// An engine over profiles resolved elsewhere: `{profiles: [{id, identifiers?, traits?}],
    /// events: [{profile?, type, event | name, timestamp, messageId?, properties?}]}`.
    #[wasm_bindgen(js_name = fromResolved)]
    pub fn from_resolved(input: JsValue) -> std::result::Result<Engine, JsValue> {
        thrown(
            js::from_js(&input, "")
                .and_then(|v| Workspace::from_resolved(&v))
                .map(|workspace| Engine { workspace }),
        )
    }

    /// Adds messages (an array of Segment messages, or NDJSON text) in file mode: each needs a
    /// `messageId` (unless `options.deriveIds`) and a `timestamp`. Returns
    /// `{accepted, rejected, duplicates}`.
    pub fn ingest(
        &mut self,
        messages: JsValue,
        options: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        thrown((|| {
            let derive = js::derive_ids(&options)?;
            let text = js::messages(&messages)?;
            let report = self.workspace.ingest(&text, derive)?;
            Ok(js::ingest_report(&report))
        })())
    }

    /// Checks messages as `ingest` would, storing nothing: `{accepted, rejected}`.
    pub fn validate(
        &self,
        messages: JsValue,
        options: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        thrown((|| {
            let derive = js::derive_ids(&options)?;
            let text = js::messages(&messages)?;
            Ok(js::report(&crate::validation::validate_file(&text, derive)))
        })())
    }

    /// Number of events held (one per `messageId`).
    #[wasm_bindgen(getter, js_name = eventCount)]
    pub fn event_count(&mut self) -> f64 {
        self.workspace.event_count() as f64
    }

    /// Number of profiles in the segment store (building it if needed).
    #[wasm_bindgen(getter, js_name = profileCount)]
    pub fn profile_count(&mut self) -> f64 {
        self.workspace.store().profile_count() as f64
    }

    /// Every profile, sorted by id.
    pub fn profiles(&mut self) -> std::result::Result<JsValue, JsValue> {
        let list = thrown(self.workspace.profiles())?;
        Ok(js::to_js(&Value::Array(
            list.iter().map(|p| p.to_json()).collect(),
        )))
    }

    /// The profile with this id (a merged-away id gives the current profile), or `null`.
    pub fn profile(&mut self, id: &str) -> std::result::Result<JsValue, JsValue> {
        let profile = thrown(self.workspace.profile(id))?;
        Ok(profile.map_or(JsValue::NULL, |p| js::to_js(&p.to_json())))
    }

    /// The profile holding an identifier (the value is normalized by its type's rule), or
    /// `null`.
    #[wasm_bindgen(js_name = profileByIdentifier)]
    pub fn profile_by_identifier(
        &mut self,
        kind: &str,
        value: &str,
    ) -> std::result::Result<JsValue, JsValue> {
        let profile = thrown(self.workspace.profile_by_identifier(kind, value))?;
        Ok(profile.map_or(JsValue::NULL, |p| js::to_js(&p.to_json())))
    }

    /// How many events belong to no profile (they identify no one).
    #[wasm_bindgen(getter, js_name = unresolvedCount)]
    pub fn unresolved_count(&mut self) -> std::result::Result<f64, JsValue> {
        thrown(self.workspace.unresolved()).map(|n| n as f64)
    }

    /// The id of the profile an event (by `messageId`) belongs to, or `null`.
    #[wasm_bindgen(js_name = profileIdOfMessage)]
    pub fn profile_id_of_message(
        &mut self,
        message_id: &str,
    ) -> std::result::Result<JsValue, JsValue> {
        let id = thrown(self.workspace.profile_id_of_message(message_id))?;
        Ok(id.map_or(JsValue::NULL, JsValue::from))
    }

    /// Deletes a profile (a privacy request): `{profileId, messageIds, identifiers}`, or `null`
    /// for an unknown id. Its identifiers are suppressed: later events carrying them are
    /// unresolved.
    #[wasm_bindgen(js_name = deleteProfile)]
    pub fn delete_profile(&mut self, id: &str) -> std::result::Result<JsValue, JsValue> {
        let deletion = thrown(self.workspace.delete_profile(id))?;
        Ok(deletion.map_or(JsValue::NULL, |d| {
            let identifiers: Vec<Value> = d
                .identifiers
                .iter()
                .map(|i| json!({"type": i.kind, "value": i.value}))
                .collect();
            js::to_js(&json!({
                "profileId": d.profile_id,
                "messageIds": d.message_ids,
                "identifiers": identifiers,
            }))
        }))
    }

    /// Removes an identifier from identity resolution (it acts as blocked from the start);
    /// true when some event carried it.
    #[wasm_bindgen(js_name = removeIdentifier)]
    pub fn remove_identifier(
        &mut self,
        kind: &str,
        value: &str,
    ) -> std::result::Result<bool, JsValue> {
        thrown(self.workspace.remove_identifier(kind, value))
    }

    /// Why a profile's identifiers are one person and which merges were blocked, or `null`.
    pub fn explain(&mut self, id: &str) -> std::result::Result<JsValue, JsValue> {
        let explanation = thrown(self.workspace.explain(id))?;
        Ok(explanation.map_or(JsValue::NULL, |e| js::to_js(&e)))
    }

    /// A segment's members at `options.now`: `{count, members}` (profile ids, sorted).
    pub fn evaluate(
        &mut self,
        definition: JsValue,
        options: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        thrown((|| {
            let options = js::options(&options)?;
            let (segment, now) = segment_and_now(&definition, &options)?;
            let members = self.workspace.evaluate(&segment, now);
            Ok(js::to_js(
                &json!({"count": members.ids.len(), "members": members.ids}),
            ))
        })())
    }

    /// A segment's size and a spread-out sample of member ids (`options.sample`, default 10):
    /// `{count, totalProfiles, sample, tookMs}`. The store is built once and reused.
    pub fn preview(
        &mut self,
        definition: JsValue,
        options: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        thrown((|| {
            let options = js::options(&options)?;
            let (segment, now) = segment_and_now(&definition, &options)?;
            let sample = js::count(options.get("sample"), "options.sample")?.unwrap_or(10);
            let started = js::clock_ms();
            let preview = self.workspace.preview(&segment, now, sample);
            let took = js::clock_ms() - started;
            Ok(js::to_js(&json!({
                "count": preview.count,
                "totalProfiles": preview.total_profiles,
                "sample": preview.sample,
                "tookMs": took,
            })))
        })())
    }

    /// The segment store as bytes (the format of `tessera snapshot`), for `Engine.fromSnapshot`.
    pub fn snapshot(&mut self) -> Vec<u8> {
        self.workspace.store().to_bytes()
    }

    /// A segment's members as CSV (RFC 4180, CRLF): `profile_id`, then `options.columns`.
    #[wasm_bindgen(js_name = exportCsv)]
    pub fn export_csv(
        &mut self,
        definition: JsValue,
        options: JsValue,
    ) -> std::result::Result<String, JsValue> {
        thrown((|| {
            let options = js::options(&options)?;
            let (segment, now) = segment_and_now(&definition, &options)?;
            let columns = columns(options.get("columns"))?;
            self.workspace.export_csv(&segment, now, &columns)
        })())
    }

    /// Audiences that reach a goal more often than everyone: the suggestion report.
    pub fn suggest(&mut self, options: JsValue) -> std::result::Result<JsValue, JsValue> {
        thrown((|| {
            let options = js::options(&options)?;
            let goal = js::text(options.get("goal"), "options.goal")?.ok_or_else(|| {
                EngineError::new(
                    "bad_goal",
                    "options.goal",
                    "a goal is `event:NAME` or `trait:PATH=VALUE`",
                )
            })?;
            let revenue = match options.get("revenue") {
                None | Some(Value::Null) => None,
                Some(v) => {
                    let part = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
                    match (part("event"), part("property")) {
                        (Some(e), Some(p)) => Some((e, p)),
                        _ => {
                            return Err(EngineError::new(
                                "wrong_type",
                                "options.revenue",
                                "revenue is {event, property}",
                            ))
                        }
                    }
                }
            };
            let request = SuggestRequest {
                goal: goal.to_owned(),
                horizon: js::text(options.get("horizon"), "options.horizon")?
                    .unwrap_or("30d")
                    .to_owned(),
                now: js::time(options.get("now"), "options.now")?,
                top: js::count(options.get("top"), "options.top")?,
                min_profiles: js::count(options.get("minProfiles"), "options.minProfiles")?,
                revenue,
            };
            let report = self
                .workspace
                .suggest(&request)
                .map_err(|e| match e.path.as_str() {
                    "goal" | "horizon" => e.under("options"),
                    _ => e,
                })?;
            Ok(js::to_js(&report))
        })())
    }
}
