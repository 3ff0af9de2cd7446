import streamlit as st
st.title('live')
