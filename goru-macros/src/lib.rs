//! `#[goru::main]` and `#[goru::test]`.
//!
//! Both rewrite `fn name(..) -> R { body }` into a function that builds a fresh goru
//! runtime and runs `body` as its main goroutine, returning its value. Both accept
//! `workers = N`. Written against `proc_macro` alone: the transformation only needs to
//! find the function's body, so no parser dependency is pulled into every build.

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// Run `fn main` as the main goroutine of a new runtime.
///
/// ```ignore
/// #[goru::main(workers = 4)]
/// fn main() {
///     goru::go(|| println!("hello from a goroutine")).join().unwrap();
/// }
/// ```
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(attr, item, false)
}

/// A `#[test]` whose body runs as the main goroutine of a new runtime.
///
/// ```ignore
/// #[goru::test(workers = 2)]
/// fn adds() {
///     assert_eq!(goru::go(|| 1 + 1).join().unwrap(), 2);
/// }
/// ```
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(attr, item, true)
}

fn expand(attr: TokenStream, item: TokenStream, is_test: bool) -> TokenStream {
    let workers = match parse_workers(attr) {
        Ok(w) => w,
        Err(msg) => return compile_error(&msg),
    };
    let mut tokens: Vec<TokenTree> = item.into_iter().collect();
    let body = match tokens.pop() {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => g,
        _ => return compile_error("goru: expected a function with a body"),
    };
    if tokens
        .iter()
        .any(|t| matches!(t, TokenTree::Ident(i) if i.to_string() == "async"))
    {
        return compile_error("goru: the function must not be async; goroutines run blocking code");
    }
    let workers_expr: TokenStream = match workers {
        Some(n) => format!("::core::option::Option::Some({n}usize)")
            .parse()
            .unwrap(),
        None => "::core::option::Option::None".parse().unwrap(),
    };
    // { ::goru::__private::runtime(W).run(move || BODY) }
    let mut call: TokenStream = "::goru::__private::runtime".parse().unwrap();
    call.extend([TokenTree::Group(Group::new(
        Delimiter::Parenthesis,
        workers_expr,
    ))]);
    call.extend([
        TokenTree::Punct(Punct::new('.', Spacing::Alone)),
        TokenTree::Ident(Ident::new("run", Span::call_site())),
    ]);
    let mut closure: TokenStream = "move ||".parse().unwrap();
    closure.extend([TokenTree::Group(body.clone())]);
    call.extend([TokenTree::Group(Group::new(
        Delimiter::Parenthesis,
        closure,
    ))]);
    let mut out = TokenStream::new();
    if is_test {
        out.extend(
            "#[::core::prelude::v1::test]"
                .parse::<TokenStream>()
                .unwrap(),
        );
    }
    out.extend(tokens);
    out.extend([TokenTree::Group(Group::new(Delimiter::Brace, call))]);
    out
}

fn parse_workers(attr: TokenStream) -> Result<Option<usize>, String> {
    let tokens: Vec<TokenTree> = attr.into_iter().collect();
    match tokens.as_slice() {
        [] => Ok(None),
        [TokenTree::Ident(key), TokenTree::Punct(eq), TokenTree::Literal(value)]
            if key.to_string() == "workers" && eq.as_char() == '=' =>
        {
            let text = value.to_string();
            let digits = text.trim_end_matches("usize").replace('_', "");
            match digits.parse::<usize>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(format!(
                    "goru: workers must be a positive integer, not {text}"
                )),
            }
        }
        _ => Err("goru: the only argument is `workers = N`".to_string()),
    }
}

fn compile_error(msg: &str) -> TokenStream {
    let mut out: TokenStream = "::core::compile_error!".parse().unwrap();
    let lit = TokenStream::from(TokenTree::Literal(Literal::string(msg)));
    out.extend([TokenTree::Group(Group::new(Delimiter::Parenthesis, lit))]);
    out.extend([TokenTree::Punct(Punct::new(';', Spacing::Alone))]);
    out
}
